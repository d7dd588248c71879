//! The notice ledger on DynamoDB: flat attributes on the booking item
//! (`staff_email_claim`, `staff_email_sent_at`...), each change one
//! conditional `UpdateItem`.

use super::{booking_item, booking_of_item, classify, n, s};
use crate::booking::record::parse_rfc3339;
use crate::booking::record::rfc3339;
use crate::booking::Reference;
use crate::notify::{
    Claim, ClaimToken, Confirmation, Delivery, EmailStates, Notice, NoticeLedger, NoticeState,
    Owed, OwedConfirmations, Recorded,
};
use crate::store::StoreError;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Claims and marks on the items of the bookings table.
#[derive(Debug, Clone)]
pub struct DynamoNoticeLedger {
    client: Client,
    bookings_table: String,
}

type Item = HashMap<String, AttributeValue>;

/// The attribute names of one email's state.
struct Names {
    claim: String,
    claim_until: String,
    sent_at: String,
    message_id: String,
    failed: String,
    failed_at: String,
    held: String,
    held_at: String,
    delivery: String,
    delivery_rank: String,
    delivery_at: String,
    delivery_detail: String,
}

impl Names {
    fn of(notice: Notice) -> Self {
        let prefix = format!("{}_email", notice.name());
        Self {
            claim: format!("{prefix}_claim"),
            claim_until: format!("{prefix}_claim_until"),
            sent_at: format!("{prefix}_sent_at"),
            message_id: format!("{prefix}_message_id"),
            failed: format!("{prefix}_failed"),
            failed_at: format!("{prefix}_failed_at"),
            held: format!("{prefix}_held"),
            held_at: format!("{prefix}_held_at"),
            delivery: format!("{prefix}_delivery"),
            delivery_rank: format!("{prefix}_delivery_rank"),
            delivery_at: format!("{prefix}_delivery_at"),
            delivery_detail: format!("{prefix}_delivery_detail"),
        }
    }

    fn state(&self, item: &Item) -> NoticeState {
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        NoticeState {
            sent_at: text(&self.sent_at),
            message_id: text(&self.message_id),
            failed: text(&self.failed),
            failed_at: text(&self.failed_at),
            claimed_until: match item.get(&self.claim_until) {
                Some(AttributeValue::N(v)) => v.parse().ok(),
                _ => None,
            },
            held: text(&self.held),
            held_at: text(&self.held_at),
            delivery: text(&self.delivery),
            delivery_at: text(&self.delivery_at),
            delivery_detail: text(&self.delivery_detail),
        }
    }
}

/// The sequence of the request's latest confirmation, if it owes one.
pub(super) fn confirmation_sequence(item: &Item) -> Result<Option<u32>, StoreError> {
    match item.get(super::CONFIRMATION_SEQUENCE) {
        None => Ok(None),
        Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| {
            StoreError::Corrupt("a request's confirmation sequence is unreadable".into())
        }),
        Some(_) => Err(StoreError::Corrupt(
            "a request's confirmation sequence is unreadable".into(),
        )),
    }
}

/// The attribute that holds until when `notice` is claimed.
pub(super) fn claim_until_attribute(notice: Notice) -> String {
    Names::of(notice).claim_until
}

/// Where `notice` of the booking `item` stands, read from the item itself.
pub(super) fn notice_state(item: &Item, notice: Notice) -> NoticeState {
    Names::of(notice).state(item)
}

impl DynamoNoticeLedger {
    /// A ledger over `client` and the bookings table.
    pub fn new(client: Client, bookings_table: impl Into<String>) -> Self {
        Self {
            client,
            bookings_table: bookings_table.into(),
        }
    }

    async fn item(&self, reference: &Reference) -> Result<Option<Item>, StoreError> {
        booking_item(&self.client, &self.bookings_table, reference).await
    }

    /// Sets each email's two closing attributes (`marks`: the email's
    /// attribute names, and the two attributes with their values) and ends
    /// its claim and any hold, all in one write.
    async fn settle(
        &self,
        reference: &Reference,
        marks: &[(Names, [(String, AttributeValue); 2])],
    ) -> Result<(), StoreError> {
        if marks.is_empty() {
            return Ok(());
        }
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut update = self
            .update(reference)
            .condition_expression("attribute_exists(#reference)");
        for (i, (names, [(first, first_value), (second, second_value)])) in marks.iter().enumerate()
        {
            set.push(format!("#first{i} = :first{i}, #second{i} = :second{i}"));
            remove.push(format!("#claim{i}, #until{i}, #held{i}, #held_at{i}"));
            update = update
                .expression_attribute_names(format!("#first{i}"), first)
                .expression_attribute_names(format!("#second{i}"), second)
                .expression_attribute_names(format!("#claim{i}"), &names.claim)
                .expression_attribute_names(format!("#until{i}"), &names.claim_until)
                .expression_attribute_names(format!("#held{i}"), &names.held)
                .expression_attribute_names(format!("#held_at{i}"), &names.held_at)
                .expression_attribute_values(format!(":first{i}"), first_value.clone())
                .expression_attribute_values(format!(":second{i}"), second_value.clone());
        }
        let result = update
            .update_expression(clearing_owed(&format!(
                "SET {} REMOVE {}",
                set.join(", "),
                remove.join(", ")
            )))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The booking expired meanwhile: there is nothing left to mark.
            Err(e) if condition_failed(&e).is_some() => Ok(()),
            Err(e) => Err(classify(&e)),
        }
    }

    /// Ends the claim `token` holds, if it still holds it; with `held`, also
    /// records the code and time the email waits on. Not ours any more (it
    /// expired and another attempt took it), or no booking: nothing to do,
    /// and the attempt holding it now records its own.
    async fn give_up_claim(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
        held: Option<(&str, OffsetDateTime)>,
    ) -> Result<(), StoreError> {
        let names = Names::of(notice);
        let mut update = self
            .update(reference)
            .condition_expression("attribute_exists(#reference) AND #claim = :token")
            .expression_attribute_names("#claim", &names.claim)
            .expression_attribute_names("#until", &names.claim_until)
            .expression_attribute_values(":token", s(token.as_str()));
        update = match held {
            Some((code, at)) => update
                .update_expression(clearing_owed(
                    "SET #held = :code, #held_at = :at REMOVE #claim, #until",
                ))
                .expression_attribute_names("#held", &names.held)
                .expression_attribute_names("#held_at", &names.held_at)
                .expression_attribute_values(":code", s(code))
                .expression_attribute_values(":at", s(&rfc3339(at))),
            None => update.update_expression(clearing_owed("REMOVE #claim, #until")),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e).is_some() => Ok(()),
            Err(e) => Err(classify(&e)),
        }
    }

    /// The booking's item as it stood when `error`'s condition failed (read
    /// when the service did not return it); `None` when there is no such
    /// booking. Any other error is the store's.
    async fn as_refused(
        &self,
        reference: &Reference,
        error: &SdkError<UpdateItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> Result<Option<Item>, StoreError> {
        match condition_failed(error) {
            None => Err(classify(error)),
            Some(Some(item)) => Ok(Some(item)),
            Some(None) => self.item(reference).await,
        }
    }

    /// An update of one booking's item, naming `#reference` and `#owed`:
    /// each update's expression is passed through [`clearing_owed`].
    fn update(
        &self,
        reference: &Reference,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.bookings_table)
            .key("reference", s(reference.as_str()))
            .expression_attribute_names("#reference", "reference")
            .expression_attribute_names("#owed", super::CONFIRMATION_OWED)
    }
}

/// `expression` that also removes the mark of a confirmation owed
/// (`#owed`): the mark is there for the one stream record of the desk's
/// change that owes it, so every write after it takes it down, and no
/// record of the ledger's writes (claims, marks, delivery events) ever
/// passes the notifier's filter.
fn clearing_owed(expression: &str) -> String {
    match expression.find("REMOVE ") {
        Some(at) => {
            let (before, after) = expression.split_at(at + "REMOVE ".len());
            format!("{before}#owed, {after}")
        }
        None => format!("{expression} REMOVE #owed"),
    }
}

/// An item's reference as stored, for an operator to find an unreadable
/// item by (empty when it has none).
fn reference_of(item: &Item) -> String {
    match item.get("reference") {
        Some(AttributeValue::S(reference)) => reference.clone(),
        _ => String::new(),
    }
}

/// Every booking a filtered scan finds, oldest first; unreadable items are
/// skipped and counted.
async fn scan_bookings(
    scan: aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
) -> Result<Owed, StoreError> {
    let mut pages = scan.into_paginator().send();
    let mut owed = Owed::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify(&e))?;
        for item in page.items.unwrap_or_default() {
            let reference = reference_of(&item);
            match booking_of_item(item) {
                Ok(booking) => owed.bookings.push(booking),
                Err(_) => owed.skip_unreadable(&reference),
            }
        }
    }
    owed.bookings.sort_by_key(|booking| booking.received_at);
    Ok(owed)
}

/// The closing attributes of an email sent as `message_id` at `at`, as
/// [`DynamoNoticeLedger::settle`] writes them.
fn sent_mark(
    notice: Notice,
    message_id: &str,
    at: OffsetDateTime,
) -> (Names, [(String, AttributeValue); 2]) {
    let names = Names::of(notice);
    let set = [
        (names.sent_at.clone(), s(&rfc3339(at))),
        (names.message_id.clone(), s(message_id)),
    ];
    (names, set)
}

fn condition_failed(
    error: &SdkError<UpdateItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Option<Option<Item>> {
    match error {
        SdkError::ServiceError(service) => match service.err() {
            UpdateItemError::ConditionalCheckFailedException(e) => Some(e.item().cloned()),
            _ => None,
        },
        _ => None,
    }
}

#[async_trait]
impl NoticeLedger for DynamoNoticeLedger {
    async fn claim(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let names = Names::of(notice);
        let mut update = self.update(reference);
        let mut condition = "attribute_exists(#reference) AND attribute_not_exists(#sent) \
             AND attribute_not_exists(#failed) \
             AND (attribute_not_exists(#until) OR #until < :now)"
            .to_owned();
        // A confirmation is claimed only while it is the request's latest.
        if let Notice::Confirmation(sequence) = notice {
            condition.push_str(" AND #sequence = :sequence");
            update = update
                .expression_attribute_names("#sequence", super::CONFIRMATION_SEQUENCE)
                .expression_attribute_values(":sequence", n(i64::from(sequence)));
        }
        let result = update
            .update_expression(clearing_owed("SET #claim = :token, #until = :until"))
            .condition_expression(condition)
            .expression_attribute_names("#claim", &names.claim)
            .expression_attribute_names("#until", &names.claim_until)
            .expression_attribute_names("#sent", &names.sent_at)
            .expression_attribute_names("#failed", &names.failed)
            .expression_attribute_values(":token", s(token.as_str()))
            .expression_attribute_values(":until", n(until.unix_timestamp()))
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(Claim::Claimed),
            Err(error) => error,
        };
        let Some(item) = self.as_refused(reference, &error).await? else {
            return Ok(Claim::NoBooking);
        };
        // Sent, failed or claimed elsewhere first: only a confirmation
        // nobody has done anything with can be superseded.
        let state = names.state(&item);
        if let Some(refused) = state.clone().refusal(now, until) {
            return Ok(refused);
        }
        if let Notice::Confirmation(sequence) = notice {
            if confirmation_sequence(&item)? != Some(sequence) {
                return Ok(Claim::Superseded {
                    attempted: state.claimed_until.is_some(),
                });
            }
        }
        // The condition failed, so something held it even if the claim has
        // expired since: report that claim.
        let held = state
            .claimed_until
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .unwrap_or(until);
        Ok(Claim::HeldElsewhere { until: held })
    }

    /// One `UpdateItem` claims them all when every one is free; when one
    /// is not, the item as the write found it says which, and each of the
    /// others is claimed on its own.
    async fn claim_each(
        &self,
        reference: &Reference,
        notices: &[Notice],
        token: &ClaimToken,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<Claim>, StoreError> {
        if notices.len() < 2 {
            return crate::notify::ledger::claim_one_by_one(
                self, reference, notices, token, now, until,
            )
            .await;
        }
        let mut set = Vec::new();
        let mut condition = vec!["attribute_exists(#reference)".to_owned()];
        let mut update = self
            .update(reference)
            .expression_attribute_values(":token", s(token.as_str()))
            .expression_attribute_values(":until", n(until.unix_timestamp()))
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (i, notice) in notices.iter().enumerate() {
            let names = Names::of(*notice);
            set.push(format!("#claim{i} = :token, #until{i} = :until"));
            condition.push(format!(
                "attribute_not_exists(#sent{i}) AND attribute_not_exists(#failed{i}) \
                 AND (attribute_not_exists(#until{i}) OR #until{i} < :now)"
            ));
            update = update
                .expression_attribute_names(format!("#claim{i}"), names.claim)
                .expression_attribute_names(format!("#until{i}"), names.claim_until)
                .expression_attribute_names(format!("#sent{i}"), names.sent_at)
                .expression_attribute_names(format!("#failed{i}"), names.failed);
        }
        let result = update
            .update_expression(clearing_owed(&format!("SET {}", set.join(", "))))
            .condition_expression(condition.join(" AND "))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(vec![Claim::Claimed; notices.len()]),
            Err(error) => error,
        };
        let Some(item) = self.as_refused(reference, &error).await? else {
            return Ok(vec![Claim::NoBooking; notices.len()]);
        };
        // Those the item refused stay refused; the others are claimed one
        // by one (each may have changed since, which its own claim tells).
        let mut claims = Vec::with_capacity(notices.len());
        for notice in notices {
            let refused = Names::of(*notice).state(&item).refusal(now, until);
            claims.push(match refused {
                Some(refusal) => refusal,
                None => self.claim(reference, *notice, token, now, until).await?,
            });
        }
        Ok(claims)
    }

    /// One `UpdateItem` sets every sent mark and ends their claims and holds.
    async fn mark_each_sent(
        &self,
        reference: &Reference,
        sent: &[(Notice, String)],
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let marks: Vec<_> = sent
            .iter()
            .map(|(notice, message_id)| sent_mark(*notice, message_id, at))
            .collect();
        self.settle(reference, &marks).await
    }

    async fn mark_sent(
        &self,
        reference: &Reference,
        notice: Notice,
        message_id: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.settle(reference, &[sent_mark(notice, message_id, at)])
            .await
    }

    async fn mark_failed(
        &self,
        reference: &Reference,
        notice: Notice,
        code: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let names = Names::of(notice);
        let set = [
            (names.failed.clone(), s(code)),
            (names.failed_at.clone(), s(&rfc3339(at))),
        ];
        self.settle(reference, &[(names, set)]).await
    }

    async fn hold(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
        code: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.give_up_claim(reference, notice, token, Some((code, at)))
            .await
    }

    /// One `UpdateItem` on the way an event usually comes (after its sent
    /// mark, in order). When its condition fails, a second, writing
    /// nothing, tells "not sent yet" from "nothing to change" without
    /// reading the item, so the role needs no read of personal data.
    async fn record_delivery(
        &self,
        reference: &Reference,
        notice: Notice,
        message_id: &str,
        delivery: Delivery,
        detail: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Recorded, StoreError> {
        let names = Names::of(notice);
        let mut update = self
            .update(reference)
            .condition_expression(
                "attribute_exists(#reference) AND #message_id = :message_id \
                 AND (attribute_not_exists(#rank) OR #rank < :rank)",
            )
            .expression_attribute_names("#message_id", &names.message_id)
            .expression_attribute_names("#delivery", &names.delivery)
            .expression_attribute_names("#rank", &names.delivery_rank)
            .expression_attribute_names("#at", &names.delivery_at)
            .expression_attribute_names("#detail", &names.delivery_detail)
            .expression_attribute_values(":message_id", s(message_id))
            .expression_attribute_values(":delivery", s(delivery.as_str()))
            .expression_attribute_values(":rank", n(i64::from(delivery.rank())))
            .expression_attribute_values(":at", s(&rfc3339(at)));
        update = match detail {
            Some(detail) => update
                .update_expression(clearing_owed(
                    "SET #delivery = :delivery, #rank = :rank, #at = :at, #detail = :detail",
                ))
                .expression_attribute_values(":detail", s(detail)),
            None => update.update_expression(clearing_owed(
                "SET #delivery = :delivery, #rank = :rank, #at = :at REMOVE #detail",
            )),
        };
        match update.send().await {
            Ok(_) => return Ok(Recorded::Applied),
            Err(e) if condition_failed(&e).is_some() => {}
            Err(e) => return Err(classify(&e)),
        }
        // Changes nothing of the email either way (no sent mark yet means
        // the detail attribute cannot exist); it takes down the mark of a
        // confirmation owed, as every write does.
        let probe = self
            .update(reference)
            .update_expression(clearing_owed("REMOVE #detail"))
            .condition_expression(
                "attribute_exists(#reference) AND attribute_not_exists(#message_id)",
            )
            .expression_attribute_names("#message_id", &names.message_id)
            .expression_attribute_names("#detail", &names.delivery_detail)
            .send()
            .await;
        match probe {
            Ok(_) => Ok(Recorded::NotYetSent),
            Err(e) if condition_failed(&e).is_some() => Ok(Recorded::Unchanged),
            Err(e) => Err(classify(&e)),
        }
    }

    async fn staff_undelivered(
        &self,
        since: OffsetDateTime,
        sent_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Owed, StoreError> {
        let (staff, fallback) = (Names::of(Notice::Staff), Names::of(Notice::StaffFallback));
        let scan = self
            .client
            .scan()
            .table_name(&self.bookings_table)
            .consistent_read(true)
            .filter_expression(
                "expires_at > :now \
                 AND attribute_not_exists(#fallback_sent) AND attribute_not_exists(#fallback_failed) \
                 AND ((#failed_at >= :since) \
                      OR (#sent >= :since AND (#delivery IN (:bounced, :complained, :rejected) \
                          OR (#sent <= :before AND (attribute_not_exists(#delivery) OR #delivery IN (:sent, :delayed))))))",
            )
            .expression_attribute_names("#sent", &staff.sent_at)
            .expression_attribute_names("#failed_at", &staff.failed_at)
            .expression_attribute_values(":since", s(&rfc3339(since)))
            .expression_attribute_names("#delivery", &staff.delivery)
            .expression_attribute_names("#fallback_sent", &fallback.sent_at)
            .expression_attribute_names("#fallback_failed", &fallback.failed)
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .expression_attribute_values(":before", s(&rfc3339(sent_before)))
            .expression_attribute_values(":bounced", s(Delivery::Bounced.as_str()))
            .expression_attribute_values(":complained", s(Delivery::Complained.as_str()))
            .expression_attribute_values(":rejected", s(Delivery::Rejected.as_str()))
            .expression_attribute_values(":sent", s(Delivery::Sent.as_str()))
            .expression_attribute_values(":delayed", s(Delivery::Delayed.as_str()));
        scan_bookings(scan).await
    }

    async fn email_states(
        &self,
        received_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<EmailStates>, StoreError> {
        let [staff, patient] = Notice::ALL.map(Names::of);
        // Only the key, the time and the email-state attributes are read.
        let mut names: Vec<String> = vec!["reference".into(), "received_at".into()];
        for n in [&staff, &patient] {
            names.extend([
                n.sent_at.clone(),
                n.message_id.clone(),
                n.failed.clone(),
                n.failed_at.clone(),
                n.claim_until.clone(),
                n.held.clone(),
                n.held_at.clone(),
                n.delivery.clone(),
                n.delivery_at.clone(),
                n.delivery_detail.clone(),
            ]);
        }
        let mut scan = self
            .client
            .scan()
            .table_name(&self.bookings_table)
            .consistent_read(true)
            .filter_expression("#received_at >= :after AND #expires_at > :now")
            .expression_attribute_names("#expires_at", "expires_at")
            .expression_attribute_values(":after", s(&rfc3339(received_after)))
            .expression_attribute_values(":now", n(now.unix_timestamp()));
        let mut projection = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let placeholder = match name.as_str() {
                "received_at" => "#received_at".to_owned(),
                _ => format!("#p{i}"),
            };
            scan = scan.expression_attribute_names(&placeholder, name);
            projection.push(placeholder);
        }
        let mut pages = scan
            .projection_expression(projection.join(", "))
            .into_paginator()
            .send();
        let mut states = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&e))?;
            for item in page.items.unwrap_or_default() {
                let text = |name: &str| match item.get(name) {
                    Some(AttributeValue::S(v)) => Some(v.as_str()),
                    _ => None,
                };
                let (Some(Ok(reference)), Some(Ok(received_at))) = (
                    text("reference").map(Reference::parse),
                    text("received_at").map(parse_rfc3339),
                ) else {
                    continue;
                };
                states.push(EmailStates {
                    reference,
                    received_at,
                    staff: staff.state(&item),
                    patient: patient.state(&item),
                });
            }
        }
        states.sort_by_key(|s| s.received_at);
        Ok(states)
    }

    async fn release(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
    ) -> Result<(), StoreError> {
        self.give_up_claim(reference, notice, token, None).await
    }

    async fn state(
        &self,
        reference: &Reference,
        notice: Notice,
    ) -> Result<Option<NoticeState>, StoreError> {
        Ok(self
            .item(reference)
            .await?
            .map(|item| Names::of(notice).state(&item)))
    }

    async fn owed(
        &self,
        received_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Owed, StoreError> {
        let [staff, patient] = Notice::ALL.map(Names::of);
        // An operator's sweep, not a request path: one consistent scan of
        // the table, filtered by the service.
        let scan = self
            .client
            .scan()
            .table_name(&self.bookings_table)
            .consistent_read(true)
            .filter_expression(
                "received_at <= :before AND expires_at > :now AND (\
                 (attribute_not_exists(#staff_sent) AND attribute_not_exists(#staff_failed)) OR \
                 (attribute_not_exists(#patient_sent) AND attribute_not_exists(#patient_failed)))",
            )
            .expression_attribute_names("#staff_sent", &staff.sent_at)
            .expression_attribute_names("#staff_failed", &staff.failed)
            .expression_attribute_names("#patient_sent", &patient.sent_at)
            .expression_attribute_names("#patient_failed", &patient.failed)
            .expression_attribute_values(":before", s(&rfc3339(received_before)))
            .expression_attribute_values(":now", n(now.unix_timestamp()));
        scan_bookings(scan).await
    }

    async fn confirmations_owed(
        &self,
        made_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<OwedConfirmations, StoreError> {
        // An operator's sweep: the requests that ever owed a confirmation,
        // the latest of each checked here (its attributes' names hold its
        // number, which no filter can follow).
        let mut pages = self
            .client
            .scan()
            .table_name(&self.bookings_table)
            .consistent_read(true)
            .filter_expression("attribute_exists(#sequence) AND expires_at > :now")
            .expression_attribute_names("#sequence", super::CONFIRMATION_SEQUENCE)
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .into_paginator()
            .send();
        let mut owed = OwedConfirmations::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&e))?;
            for item in page.items.unwrap_or_default() {
                let reference = reference_of(&item);
                let latest = confirmation_sequence(&item).and_then(|sequence| {
                    let history = super::desk::history_of(&item)?;
                    Ok(sequence.and_then(|sequence| Confirmation::of_history(sequence, &history)))
                });
                let confirmation = match latest {
                    Ok(Some(confirmation)) => confirmation,
                    Ok(None) => continue,
                    Err(_) => {
                        owed.skip_unreadable(&reference);
                        continue;
                    }
                };
                let state = Names::of(Notice::Confirmation(confirmation.sequence)).state(&item);
                if state.sent_at.is_some()
                    || state.failed.is_some()
                    || confirmation.made_at > made_before
                {
                    continue;
                }
                match booking_of_item(item) {
                    Ok(booking) => owed.confirmations.push((booking, confirmation)),
                    Err(_) => owed.skip_unreadable(&reference),
                }
            }
        }
        owed.confirmations.sort_by_key(|(_, c)| c.made_at);
        Ok(owed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ledger_write_takes_down_the_mark_of_a_confirmation_owed() {
        assert_eq!(clearing_owed("SET #a = :a"), "SET #a = :a REMOVE #owed");
        assert_eq!(
            clearing_owed("SET #a = :a REMOVE #b, #c"),
            "SET #a = :a REMOVE #owed, #b, #c"
        );
        assert_eq!(clearing_owed("REMOVE #b"), "REMOVE #owed, #b");
    }
}
