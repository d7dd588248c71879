//! `frontdesk alarms smoke-test`: how to prove, after a deploy, that an
//! alarm reaches a person. The alarm it sets off is named in
//! `infra/template.yaml` (the compiled-in copy), never here.

use crate::tables::TEMPLATE;
use serde_norway::Value;

/// The template's logical ID of the alarm the smoke test sets off.
pub const SMOKE_TEST_ALARM: &str = "EmailsHeldAlarm";

/// The smoke test's alarm could not be read from the template.
#[derive(Debug, thiserror::Error)]
#[error("infra/template.yaml, {SMOKE_TEST_ALARM}: {0}")]
pub struct AlarmNameError(String);

/// The deployed name of the smoke test's alarm in stage `stage`, from its
/// `AlarmName: !Sub frontdesk-${Stage}-...` in the template.
pub fn smoke_test_alarm_name(stage: &str) -> Result<String, AlarmNameError> {
    let template: Value =
        serde_norway::from_str(TEMPLATE).map_err(|e| AlarmNameError(e.to_string()))?;
    let name = &template["Resources"][SMOKE_TEST_ALARM]["Properties"]["AlarmName"];
    let Value::Tagged(tagged) = name else {
        return Err(AlarmNameError("AlarmName is not a !Sub".into()));
    };
    let Value::String(pattern) = &tagged.value else {
        return Err(AlarmNameError("AlarmName's !Sub is not one string".into()));
    };
    let name = pattern.replace("${Stage}", stage);
    if name.contains("${") {
        return Err(AlarmNameError(format!(
            "AlarmName {pattern:?} names more than the stage"
        )));
    }
    Ok(name)
}

/// The steps, as commands an operator pastes, for stack `stack` in stage `stage`.
pub fn smoke_test(stack: &str, stage: &str) -> Result<String, AlarmNameError> {
    let alarm = smoke_test_alarm_name(stage)?;
    Ok(format!(
        "Check that alarms reach a person (after every deploy, and whenever AlarmEmail changes):

1. The alarm address must have confirmed its subscription (the link in
   \"AWS Notification - Subscription Confirmation\"). This must list no
   PendingConfirmation:

   aws sns list-subscriptions-by-topic --topic-arn \"$(aws cloudformation describe-stacks \\
     --stack-name {stack} --query \"Stacks[0].Outputs[?OutputKey=='AlarmTopicArn'].OutputValue\" \\
     --output text)\" --query 'Subscriptions[].SubscriptionArn'

2. Set one alarm off by hand:

   aws cloudwatch set-alarm-state --alarm-name {alarm} \\
     --state-value ALARM --state-reason \"frontdesk smoke test: does this reach a person?\"

   An email \"ALARM: \\\"{alarm}\\\"\" must arrive at the alarm address within a
   few minutes. The alarm returns to OK at its next evaluation by itself.
"
    ))
}
