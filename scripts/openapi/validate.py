"""openapi-spec-validator, with patterns read as ECMA-262.

JSON Schema's `regex` format is ECMA-262, which Python's `re` is not: it
refuses `\\p{L}` (a Unicode letter), which the booking form's name rule
uses. The format is checked here by jsonschema-rs, the validator
Schemathesis uses, which reads patterns as ECMA-262 does; everything else
is openapi-spec-validator's own check.
"""

import sys

import jsonschema
import jsonschema_rs
import openapi_schema_validator
from openapi_spec_validator.__main__ import main


def is_ecma_regex(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        jsonschema_rs.validator_for({"pattern": instance})
    except jsonschema_rs.ValidationError:
        return False
    return True


for checker in (
    jsonschema.Draft202012Validator.FORMAT_CHECKER,
    openapi_schema_validator.oas31_format_checker,
):
    checker.checkers["regex"] = (is_ecma_regex, ())

sys.exit(main())
