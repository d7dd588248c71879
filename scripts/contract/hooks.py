"""What Schemathesis is taught of the booking rules JSON Schema cannot state.

Each hook changes a generated request only where the document's own words
(a field's description) say what the API does and the schema cannot:

- `date_of_birth`: `format: date` takes any date; the API takes one not in
  the future and at most 120 years ago (the description says so). A date
  outside that, in an otherwise valid request, is moved inside it.
- `date_of_birth_day`, `_month`, `_year`: the parts' patterns take any day
  from 1 to 31 and any month; the date they make must be real and in the
  same range (the descriptions say so). Parts that each fit their pattern
  but make no such date are made 31 3 1970.
- `idempotency_key`: the hidden field and the `Idempotency-Key` header must
  be the same key when both are sent (the description says so). When a
  request has both, each a key, the field is given the header's value.

A value the schema refuses is never changed, so a request the schema
refuses stays refused: the API must refuse it.

Each answer's operation and status is also written, one JSON line each, to
the file `FRONTDESK_CONTRACT_ANSWERS` names, for scripts/contract/run to
check that every operation was answered 2xx at least once.
"""

import datetime
import json
import os
import re

import schemathesis

MAX_AGE_YEARS = 120
KEY = re.compile(r"[!-z|~]{1,128}")
BLANK = "[ \t\n\r\u00a0\u3000]*"
PARTS = {
    "date_of_birth_day": re.compile(f"{BLANK}(0?[1-9]|[12][0-9]|3[01]){BLANK}"),
    "date_of_birth_month": re.compile(f"{BLANK}(0?[1-9]|1[0-2]){BLANK}"),
    "date_of_birth_year": re.compile(f"{BLANK}[0-9]{{4}}{BLANK}"),
}


def _in_range(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        born = datetime.date.fromisoformat(value)
    except ValueError:
        return True
    today = datetime.date.today()
    return born <= today and today.year - born.year <= MAX_AGE_YEARS


@schemathesis.hook
def map_case(context, case):
    body = case.body
    if not isinstance(body, dict):
        return case
    if not _in_range(body.get("date_of_birth")):
        body["date_of_birth"] = "1970-03-31"
    parts = [body.get(name) for name in PARTS]
    if all(isinstance(p, str) and shape.fullmatch(p) for p, shape in zip(parts, PARTS.values())):
        day, month, year = (int(p.strip(" \t\n\r\u00a0\u3000")) for p in parts)
        try:
            made = datetime.date(year, month, day).isoformat()
        except ValueError:
            made = None
        if made is None or not _in_range(made):
            body.update(zip(PARTS, ["31", "3", "1970"]))
    header = next(
        (value for name, value in (case.headers or {}).items() if name.lower() == "idempotency-key"),
        None,
    )
    field = body.get("idempotency_key")
    if isinstance(header, str) and KEY.fullmatch(header) and isinstance(field, str) and KEY.fullmatch(field):
        body["idempotency_key"] = header
    return case


@schemathesis.hook
def after_call(context, case, response):
    path = os.environ.get("FRONTDESK_CONTRACT_ANSWERS")
    if path:
        with open(path, "a", encoding="utf-8") as answers:
            answers.write(
                json.dumps(
                    {"method": case.method, "path": case.path, "status": response.status_code}
                )
                + "\n"
            )
