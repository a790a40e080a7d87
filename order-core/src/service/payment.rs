//! Money: checkout (authorize, capture, confirm), failures and their
//! compensation, payment webhooks, and refunds.
//!
//! **Attempts are claimed before money moves.** Checkout first commits
//! `order.payment_started` (attempt n, with the stock held again after a
//! failure) compare-and-set on the version it read, and only the caller
//! whose start committed calls the gateway. Of two callers paying one order
//! at once (two processes, a double click), the other is refused before it
//! reaches the gateway: it takes no money, so the race cannot leave a
//! capture nobody records, whatever references the gateway returns.
//!
//! Gateway idempotency keys are derived from the order, the claimed attempt
//! and the amount, so a retried call never moves money twice. An attempt
//! whose caller died after claiming it stays `pending`; once it is older
//! than [`ServiceConfig::idempotency_lease`](super::ServiceConfig) a new
//! checkout resumes it with the same keys, and the gateway answers with the
//! operations it already made.
//!
//! **A lost recording gives the money back.** If recording what the gateway
//! answered still loses a race (to a cancellation, a webhook, a resumed
//! attempt), the money this call took is voided or refunded unless the
//! order provably holds it already: an entry of the same kind with the same
//! gateway reference, taken under the same idempotency key (the gateway
//! answered that key with that one operation: it deduplicated) or reported
//! by the payment provider's own event (the provider names its own
//! operation). A matching reference alone proves nothing, since two gateway
//! clients may name two operations alike. When the order cannot even be read
//! back, nothing is undone blindly: the step goes to the compensation log
//! and the attempt stays resumable.
//!
//! **Inbound events apply once**, by event id and by gateway reference: a
//! `payment.processed` or `payment.refunded` whose reference the order's
//! ledger already holds for that kind (the echo of the engine's own capture
//! or refund) changes nothing. A `payment.failed` for an order whose payment
//! never started records the provider's attempt as started and failed, as a
//! `payment.processed` records it as started and captured.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};

use super::{
    CONFLICT_RETRIES, CaptureMode, Extras, OrderService, PaymentEvent, PaymentEventKind,
    PaymentFlow,
};
use crate::command::Command;
use crate::error::{OrderError, PaymentError, RuleViolation};
use crate::event::OrderEvent;
use crate::id::{OrderId, PaymentEntryId, ReturnId};
use crate::ledger::{PaymentEntry, PaymentKind};
use crate::money::Money;
use crate::order::{Order, Reservation};
use crate::order_number::push_padded;
use crate::ports::PaymentRequest;
use crate::retry::with_retry;
use crate::scope::Scope;
use crate::status::{OrderStatus, PaymentAction, PaymentStatus, payment_targets};
use crate::text::{Actor, GatewayReference, PaymentMethod, PaymentToken, Reason};

/// What a payer pays with, as checkout gives it; both parts are optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaymentInstrument {
    /// The method (`credit_card`, `paypal`): recorded on the attempt and
    /// passed to the gateway.
    pub method: Option<PaymentMethod>,
    /// The provider's token for the instrument: passed to the gateway only.
    pub token: Option<PaymentToken>,
}

/// The gateway's answers for one attempt, to be recorded on the order.
#[derive(Clone, Debug)]
pub(super) struct Receipts {
    authorization: Option<PaymentEntry>,
    capture: Option<PaymentEntry>,
    confirm_on_authorization: bool,
}

impl Receipts {
    /// A capture of an earlier authorization (processing starts).
    pub(super) fn capture(entry: PaymentEntry) -> Self {
        Self {
            authorization: None,
            capture: Some(entry),
            confirm_on_authorization: false,
        }
    }
}

/// True when `order` already holds the money `receipts` took (the capture,
/// or the authorization when nothing was captured): an entry of the same
/// kind with the same gateway reference that was either taken under the same
/// idempotency key — the gateway answered that key with that one operation —
/// or reported by the payment provider (its key is the provider's event id,
/// not one of the engine's keys, which all start with the order id). Only
/// then may a caller that lost the race keep quiet about its money.
pub(super) fn holds_payment(order: &Order, receipts: &Receipts) -> bool {
    let Some(ours) = receipts
        .capture
        .as_ref()
        .or(receipts.authorization.as_ref())
    else {
        return false;
    };
    let Some(reference) = &ours.reference else {
        // A free order's capture moved no money.
        return false;
    };
    let engine_keys = format!("{}:", order.id());
    order.payments().entries().iter().any(|entry| {
        entry.kind == ours.kind
            && entry.reference.as_ref() == Some(reference)
            && (entry.idempotency_key == ours.idempotency_key
                || !entry.idempotency_key.starts_with(&engine_keys))
    })
}

/// True when `order`'s ledger already holds an entry of `kind` with
/// `reference`: a provider's event about it is an echo of what the order
/// records.
fn records_reference(order: &Order, kind: PaymentKind, reference: &GatewayReference) -> bool {
    order
        .payments()
        .entries()
        .iter()
        .any(|entry| entry.kind == kind && entry.reference.as_ref() == Some(reference))
}

/// `{order id}:{attempt}:{amount in minor units}`, the stem of an attempt's
/// gateway keys; written into one buffer rather than `format!`ted, as every
/// checkout builds one.
fn attempt_key(id: OrderId, attempt: u32, due: Money) -> String {
    let mut uuid = uuid::Uuid::encode_buffer();
    let mut key = String::with_capacity(64);
    key.push_str(id.as_uuid().hyphenated().encode_lower(&mut uuid));
    key.push(':');
    push_padded(&mut key, attempt.into(), 0);
    key.push(':');
    match u64::try_from(due.minor()) {
        Ok(minor) => push_padded(&mut key, minor, 0),
        // Beyond any price (or below zero, which a due amount never is).
        Err(_) => {
            let _ = write!(key, "{}", due.minor());
        }
    }
    key
}

pub(super) fn gateway_error(order_id: OrderId, err: PaymentError) -> OrderError {
    match err {
        PaymentError::Declined { code, reason } => OrderError::PaymentDeclined {
            order_id,
            code,
            reason,
        },
        PaymentError::Port(source) => OrderError::Unavailable {
            port: "payment gateway",
            source,
        },
    }
}

impl OrderService {
    pub(super) fn payment_entry(
        &self,
        kind: PaymentKind,
        amount: Money,
        reference: Option<GatewayReference>,
        key: String,
        reason: Option<Reason>,
        at: DateTime<Utc>,
    ) -> Result<PaymentEntry, OrderError> {
        Ok(PaymentEntry {
            id: self.mint(PaymentEntryId::new)?,
            kind,
            amount,
            reference,
            idempotency_key: key,
            reason,
            return_id: None,
            at,
        })
    }

    /// The events that record `receipts` on `base`: the start of the attempt
    /// (unless it is already started), the authorization, the capture and
    /// the confirmation.
    fn payment_events(
        &self,
        base: &Order,
        reservation_expires_at: Option<DateTime<Utc>>,
        receipts: &Receipts,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        self.payment_events_applied(base, reservation_expires_at, receipts, actor, now)
            .map(|(events, _)| events)
    }

    /// [`OrderService::payment_events`], and `base` with them applied.
    fn payment_events_applied(
        &self,
        base: &Order,
        reservation_expires_at: Option<DateTime<Utc>>,
        receipts: &Receipts,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Vec<OrderEvent>, Order), OrderError> {
        let mut events = Vec::new();
        let mut working = base.clone();
        let step = |working: &mut Order,
                    command: Command,
                    events: &mut Vec<OrderEvent>|
         -> Result<(), OrderError> {
            let new = working.decide_owned(command, now)?;
            working.apply_events(&new, actor, now);
            events.extend(new);
            Ok(())
        };
        if !payment_targets(working.payment_status(), PaymentAction::Start).is_empty() {
            step(
                &mut working,
                Command::StartPayment {
                    reservation_expires_at,
                    payment_method: None,
                },
                &mut events,
            )?;
        }
        if let Some(entry) = &receipts.authorization {
            step(
                &mut working,
                Command::RecordAuthorization {
                    entry: entry.clone(),
                    confirm: receipts.confirm_on_authorization,
                },
                &mut events,
            )?;
        }
        if let Some(entry) = &receipts.capture {
            step(
                &mut working,
                Command::RecordCapture {
                    entry: entry.clone(),
                },
                &mut events,
            )?;
        }
        Ok((events, working))
    }

    /// Checkout with [`PaymentFlow::External`]: a payment service charges the
    /// customer, so the engine only records that payment started (payment
    /// status `pending`, the stock held again after an earlier failure) and
    /// waits for `payment.processed` or `payment.failed`. Asking again while
    /// the payment is pending answers the order as it is.
    async fn start_external_payment(
        &self,
        id: OrderId,
        scope: Scope,
        actor: &Actor,
        method: Option<&PaymentMethod>,
    ) -> Result<Order, OrderError> {
        // The answer without a write is the store's order, never a kept one.
        let in_flight = |order: &Order| {
            order.status() == OrderStatus::Pending
                && order.payment_status() == PaymentStatus::Pending
        };
        self.decide_on(id, scope, None, in_flight, |before| async move {
            if in_flight(&before) {
                return Ok(before);
            }
            self.start_attempt(before, actor, method).await
        })
        .await
    }

    /// Checkout. With [`PaymentFlow::Gateway`]: claim the attempt (commit
    /// its start, reserving again if an earlier attempt failed), authorize
    /// and (by the capture mode) capture the amount due, confirm and commit
    /// the stock. With [`PaymentFlow::External`]: only record that payment
    /// started (payment status `pending`); a payment event settles it. A
    /// decline leaves the order pending with payment failed and its stock
    /// released; a capture failure voids the authorization. If another
    /// writer changed the order meanwhile, the payment is recorded on the
    /// fresh state when it still applies, and given back when it does not
    /// (see the module docs for when the order already holds it).
    ///
    /// # Errors
    /// [`OrderError::PaymentDeclined`] after persisting the failure;
    /// [`OrderError::Transition`] unless pending and unpaid or failed (or
    /// with an attempt abandoned for longer than the idempotency lease),
    /// which is what a second caller racing for the same order meets;
    /// [`OrderError::OutOfStock`] when a retry cannot reserve again;
    /// [`OrderError::Unavailable`] when the gateway cannot answer.
    pub async fn pay(&self, id: OrderId, actor: &Actor) -> Result<Order, OrderError> {
        self.pay_in(id, Scope::All, actor).await
    }

    /// [`pay`](Self::pay) for an order within `scope`, checked in the read
    /// the payment starts from: a customer paying pays their own order,
    /// and another's is [`OrderError::NotFound`] with nothing done.
    ///
    /// # Errors
    /// As [`pay`](Self::pay).
    pub async fn pay_in(
        &self,
        id: OrderId,
        scope: Scope,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        self.pay_with(id, scope, actor, &PaymentInstrument::default())
            .await
    }

    /// [`pay_in`](Self::pay_in) with what the payer pays with: the method
    /// is recorded on the attempt (and becomes the order's payment method),
    /// and the gateway gets the method and the token; the token is never
    /// stored. With [`PaymentFlow::External`] only the method is recorded.
    ///
    /// # Errors
    /// As [`pay`](Self::pay).
    pub async fn pay_with(
        &self,
        id: OrderId,
        scope: Scope,
        actor: &Actor,
        instrument: &PaymentInstrument,
    ) -> Result<Order, OrderError> {
        let method = instrument.method.as_ref();
        if self.config.payments == PaymentFlow::External {
            return self.start_external_payment(id, scope, actor, method).await;
        }
        // Only the claim is decided on a kept order: it commits before money
        // moves, compare-and-set, so a stale copy is refused there. Resuming
        // an abandoned attempt claims nothing, so it starts from the store.
        let abandoned = |order: &Order| self.abandoned_attempt(order);
        let started = self
            .decide_on(id, scope, None, abandoned, |before| async move {
                if abandoned(&before) {
                    Ok(before)
                } else {
                    self.start_attempt(before, actor, method).await
                }
            })
            .await?;
        self.charge(started, actor, instrument.token.as_ref()).await
    }

    /// True for a checkout attempt that started and was never settled for
    /// longer than the idempotency lease: its caller died between claiming
    /// it and recording what the gateway answered, so it may be resumed.
    fn abandoned_attempt(&self, order: &Order) -> bool {
        let lease = Duration::from_std(self.config.idempotency_lease).unwrap_or(Duration::MAX);
        order.status() == OrderStatus::Pending
            && order.payment_status() == PaymentStatus::Pending
            && self.now() - order.updated_at() >= lease
    }

    /// Claims the next payment attempt: commits `order.payment_started`
    /// (holding the stock again when an earlier failure released it) on the
    /// version it read, so that of two callers only one owns the attempt.
    /// When another writer won the race the start is decided again on the
    /// fresh order, which refuses it if that writer started or settled a
    /// payment.
    async fn start_attempt(
        &self,
        mut before: Order,
        actor: &Actor,
        method: Option<&PaymentMethod>,
    ) -> Result<Order, OrderError> {
        let id = before.id();
        let mut tries = 0;
        loop {
            let now = self.now();
            let until = (before.reservation() == Reservation::Released)
                .then(|| now + self.config.pending_ttl);
            // Refuse before any port is called.
            let start = before.decide(
                &Command::StartPayment {
                    reservation_expires_at: until,
                    payment_method: method.cloned(),
                },
                now,
            )?;
            let mut extras = Extras::default();
            if let Some(until) = until {
                extras.stock = Some(self.hold(id, Self::active_items(&before), until).await?);
            }
            let held = extras.stock.is_some();
            let committed = self.commit(&before, start, actor, now, extras).await;
            if committed.is_err() && held {
                self.align_stock(id).await;
            }
            match committed {
                Err(OrderError::VersionConflict { .. }) if tries < CONFLICT_RETRIES => {
                    tries += 1;
                    before = self.fetch(id).await?;
                }
                other => return other,
            }
        }
    }

    /// Runs the attempt `before` has claimed (payment `pending`) through
    /// the gateway and records the outcome.
    ///
    /// The failure paths (a refused payment, a recording that lost, the
    /// compensation log) run boxed: inline, their futures made every
    /// checkout's future (and so each caller's) 3.1 KB instead of 2.2 KB,
    /// all of it copied whenever the future moves.
    async fn charge(
        &self,
        mut before: Order,
        actor: &Actor,
        token: Option<&PaymentToken>,
    ) -> Result<Order, OrderError> {
        let id = before.id();
        let now = self.now();
        let due = before.amount_due();
        let key = attempt_key(id, before.payment_attempts(), due);
        let mut receipts = Receipts {
            authorization: None,
            capture: None,
            // Capture waits for processing only where there is something to
            // process: a digital-only order is handed over when it is paid.
            confirm_on_authorization: self.config.capture == CaptureMode::OnProcessing
                && before.needs_shipping(),
        };
        let gateway = &self.ports.payments;
        let timer = self.ports.timer.as_ref();
        let retry = &self.config.retry;

        if due.is_zero() {
            receipts.capture = Some(self.payment_entry(
                PaymentKind::Capture,
                due,
                None,
                format!("{key}:free"),
                None,
                now,
            )?);
        } else {
            let request = PaymentRequest {
                order_id: id,
                customer_id: before.customer_id(),
                amount: due,
                idempotency_key: [key.as_str(), ":authorize"].concat(),
                payment_method: before.payment_method().cloned(),
                payment_token: token.cloned(),
            };
            let authorization = match with_retry(retry, timer, || gateway.authorize(&request)).await
            {
                Ok(reference) => reference,
                Err(err) => {
                    return Box::pin(self.fail_payment(&before, err, None, actor, now)).await;
                }
            };
            // The request has served: its key moves into the entry.
            receipts.authorization = Some(self.payment_entry(
                PaymentKind::Authorize,
                due,
                Some(authorization.clone()),
                request.idempotency_key,
                None,
                now,
            )?);
            if !receipts.confirm_on_authorization {
                let capture_key = [key.as_str(), ":capture"].concat();
                match with_retry(retry, timer, || {
                    gateway.capture(&authorization, due, &capture_key)
                })
                .await
                {
                    Ok(reference) => {
                        receipts.capture = Some(self.payment_entry(
                            PaymentKind::Capture,
                            due,
                            Some(reference),
                            capture_key,
                            None,
                            now,
                        )?);
                    }
                    Err(err) => {
                        return Box::pin(self.fail_payment(
                            &before,
                            err,
                            Some((&authorization, &receipts)),
                            actor,
                            now,
                        ))
                        .await;
                    }
                }
            }
        }

        let mut tries = 0;
        loop {
            let recorded = match self.payment_events_applied(&before, None, &receipts, actor, now) {
                Ok((events, after)) => {
                    self.commit_applied(&before, after, events, actor, now, Extras::default())
                        .await
                }
                Err(err) => Err(err),
            };
            let err = match recorded {
                Ok(after) => return Ok(after),
                Err(err) => err,
            };
            // The money moved but was not recorded by this call (or a store
            // failure leaves it unknown whether it was): read the order back.
            let current = match self.fetch(id).await {
                Ok(current) => current,
                Err(lookup) => {
                    // Undoing blindly could refund money the order records;
                    // keeping it could leave it unrecorded. An operator
                    // decides, and resuming the attempt replays these very
                    // operations.
                    Box::pin(self.compensate(
                        id,
                        "record a payment the gateway made",
                        Some(due),
                        format!("{err}; the order could not be read back: {lookup}"),
                    ))
                    .await;
                    return Err(err);
                }
            };
            if holds_payment(&current, &receipts) {
                // A resumption of this very attempt, or the provider's event
                // for this very operation, recorded it first.
                return Ok(current);
            }
            let still_applies = current.status() == before.status()
                && current.payment_status() == before.payment_status()
                && current.payment_attempts() == before.payment_attempts()
                && current.amount_due() == due
                && current.reservation() == before.reservation();
            if !still_applies || tries >= CONFLICT_RETRIES {
                Box::pin(self.give_back(id, &receipts, due)).await;
                Box::pin(self.close_given_back_attempt(&current, before.payment_attempts(), actor))
                    .await;
                return Err(err);
            }
            // An unrelated change won (notes, an address): record the same
            // payment on the fresh state.
            tries += 1;
            before = current;
        }
    }

    /// After an attempt's money was given back: if the order still shows
    /// that attempt in flight, records it as failed, so that no later
    /// checkout resumes it and has the gateway replay the operations just
    /// undone. Best effort: if this write loses a race too, the attempt
    /// stays pending.
    async fn close_given_back_attempt(&self, current: &Order, attempt: u32, actor: &Actor) {
        if current.status() != OrderStatus::Pending
            || current.payment_status() != PaymentStatus::Pending
            || current.payment_attempts() != attempt
        {
            return;
        }
        let now = self.now();
        let failure = Command::RecordPaymentFailure {
            code: "superseded".to_owned(),
            reason: "the order changed while the payment was being recorded; it was given back"
                .to_owned(),
        };
        if let Ok(events) = current.decide(&failure, now) {
            let _ = self
                .commit(current, events, actor, now, Extras::default())
                .await;
        }
    }

    /// Undoes money taken for a payment that could not be recorded.
    pub(super) async fn give_back(&self, id: OrderId, receipts: &Receipts, amount: Money) {
        let gateway = &self.ports.payments;
        let timer = self.ports.timer.as_ref();
        let retry = &self.config.retry;
        let (step, outcome) = match (&receipts.capture, &receipts.authorization) {
            (Some(capture), _) => {
                let Some(reference) = &capture.reference else {
                    return;
                };
                let key = format!("{}:refund", capture.idempotency_key);
                (
                    "refund unrecorded capture",
                    with_retry(retry, timer, || gateway.refund(reference, amount, &key)).await,
                )
            }
            (None, Some(authorization)) => {
                let Some(reference) = &authorization.reference else {
                    return;
                };
                let key = format!("{}:void", authorization.idempotency_key);
                (
                    "void unrecorded authorization",
                    with_retry(retry, timer, || gateway.void(reference, &key)).await,
                )
            }
            (None, None) => return,
        };
        if let Err(err) = outcome {
            self.compensate(id, step, Some(amount), err.to_string())
                .await;
        }
    }

    /// Records a failed attempt: the failure, the void of an authorization
    /// that cannot be captured, and the release of the stock.
    async fn fail_payment(
        &self,
        before: &Order,
        err: PaymentError,
        authorized: Option<(&GatewayReference, &Receipts)>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Order, OrderError> {
        let (code, reason) = match &err {
            PaymentError::Declined { code, reason } => (code.clone(), reason.clone()),
            PaymentError::Port(port) => ("gateway_unavailable".to_owned(), port.to_string()),
        };
        let mut receipts = Receipts {
            authorization: None,
            capture: None,
            confirm_on_authorization: false,
        };
        let mut void = None;
        if let Some((reference, answered)) = authorized {
            receipts.authorization.clone_from(&answered.authorization);
            let amount = answered
                .authorization
                .as_ref()
                .map_or(before.amount_due(), |a| a.amount);
            let void_key = format!(
                "{}:void",
                answered
                    .authorization
                    .as_ref()
                    .map_or("", |a| a.idempotency_key.as_str())
            );
            let gateway = &self.ports.payments;
            match with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
                gateway.void(reference, &void_key)
            })
            .await
            {
                Ok(void_ref) => {
                    void = Some(self.payment_entry(
                        PaymentKind::Void,
                        amount,
                        Some(void_ref),
                        void_key,
                        None,
                        now,
                    )?)
                }
                Err(void_err) => {
                    self.compensate(
                        before.id(),
                        "void authorization after failed capture",
                        Some(amount),
                        void_err.to_string(),
                    )
                    .await;
                }
            }
        } else if matches!(err, PaymentError::Port(_)) {
            // The gateway never answered: it may hold an authorization under
            // this attempt's key that nobody will capture.
            self.compensate(
                before.id(),
                "check for an orphaned authorization",
                Some(before.amount_due()),
                format!(
                    "authorization for order {} got no answer: {reason}",
                    before.id()
                ),
            )
            .await;
        }
        let mut events = self.payment_events(before, None, &receipts, actor, now)?;
        let mut working = before.with_events(&events, actor, now);
        let failure = working.decide(&Command::RecordPaymentFailure { code, reason }, now)?;
        working.apply_events(&failure, actor, now);
        events.extend(failure);
        if let Some(entry) = void {
            events.extend(working.decide(&Command::RecordVoid { entry }, now)?);
        }
        self.commit(before, events, actor, now, Extras::default())
            .await?;
        Err(gateway_error(before.id(), err))
    }

    /// Applies a payment provider's notification, once per event id and
    /// once per gateway reference: a capture confirms a pending order (or is
    /// refunded at once if the order was cancelled meanwhile); a failure
    /// releases the stock (for an order whose payment never started, it
    /// records the provider's attempt as started and failed); an external
    /// refund is recorded within what was captured. A capture or refund
    /// whose reference the ledger already holds for that kind (the echo of
    /// the engine's own capture or refund) answers the order as it is. A
    /// notification the order refuses changes nothing, stock included.
    ///
    /// # Errors
    /// Rule errors when the event contradicts the order (wrong amount, refund
    /// above the capture); [`OrderError::Transition`] when the order cannot
    /// take it now.
    pub async fn apply_payment_event(
        &self,
        event: &PaymentEvent,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let store = &self.ports.store;
        if store.inbound_event_processed(&event.event_id).await? {
            return self.get(event.order_id).await;
        }
        let before = self.fetch(event.order_id).await?;
        let echoed = match &event.kind {
            PaymentEventKind::Processed { reference, .. } => {
                records_reference(&before, PaymentKind::Capture, reference)
            }
            PaymentEventKind::Refunded { reference, .. } => {
                records_reference(&before, PaymentKind::Refund, reference)
            }
            PaymentEventKind::Failed { .. } => false,
        };
        if echoed {
            return Ok(before);
        }
        let now = self.now();
        let id = before.id();
        let mut hold = None;
        let mut events;
        let mut late_capture = None;
        match &event.kind {
            PaymentEventKind::Processed { amount, reference } => {
                let entry = self.payment_entry(
                    PaymentKind::Capture,
                    *amount,
                    Some(reference.clone()),
                    event.event_id.clone(),
                    None,
                    now,
                )?;
                let until = (before.reservation() == Reservation::Released
                    && before.status() == OrderStatus::Pending)
                    .then(|| now + self.config.pending_ttl);
                let receipts = Receipts {
                    authorization: None,
                    capture: Some(entry),
                    confirm_on_authorization: false,
                };
                let start = if before.status() == OrderStatus::Pending {
                    until
                } else {
                    None
                };
                // Decide on a preview first: a refused event reserves nothing.
                let planned = if before.status() == OrderStatus::Pending {
                    self.payment_events(&before, start, &receipts, actor, now)?
                } else {
                    before.decide(
                        &Command::RecordCapture {
                            entry: receipts
                                .capture
                                .clone()
                                .ok_or(RuleViolation::NonPositiveAmount)?,
                        },
                        now,
                    )?
                };
                // The money has moved already: the stock held again, the
                // attempt's start and the capture commit together, so a lost
                // race leaves nothing of this event written.
                if let Some(until) = until {
                    hold = Some(self.hold(id, Self::active_items(&before), until).await?);
                }
                events = planned;
                let working = before.with_events(&events, actor, now);
                if working.status() == OrderStatus::Cancelled {
                    late_capture = Some((reference.clone(), *amount));
                }
            }
            PaymentEventKind::Failed { code, reason } => {
                let failure = Command::RecordPaymentFailure {
                    code: code.clone(),
                    reason: reason.clone(),
                };
                events = if before.status() == OrderStatus::Pending
                    && before.payment_status() == PaymentStatus::Unpaid
                {
                    // The provider reports an attempt the engine never
                    // started (a checkout outside it): record it as started
                    // and failed, as a capture it reports is recorded as
                    // started and captured. The attempt counts, so the next
                    // checkout uses fresh gateway keys.
                    let mut events = before.decide(
                        &Command::StartPayment {
                            reservation_expires_at: None,
                            payment_method: None,
                        },
                        now,
                    )?;
                    let started = before.with_events(&events, actor, now);
                    events.extend(started.decide(&failure, now)?);
                    events
                } else {
                    before.decide(&failure, now)?
                };
            }
            PaymentEventKind::Refunded { amount, reference } => {
                let entry = self.payment_entry(
                    PaymentKind::Refund,
                    *amount,
                    Some(reference.clone()),
                    event.event_id.clone(),
                    None,
                    now,
                )?;
                events = before.decide(&Command::Refund { entry }, now)?;
            }
        }
        if let Some((capture, amount)) = late_capture {
            let key = format!("{id}:late:{}", event.event_id);
            let gateway = &self.ports.payments;
            match with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
                gateway.refund(&capture, amount, &key)
            })
            .await
            {
                Ok(reference) => {
                    let reason = Reason::parse("payment arrived after cancellation")?;
                    let entry = self.payment_entry(
                        PaymentKind::Refund,
                        amount,
                        Some(reference),
                        key,
                        Some(reason),
                        now,
                    )?;
                    let working = before.with_events(&events, actor, now);
                    events.extend(working.decide(&Command::Refund { entry }, now)?);
                }
                Err(err) => {
                    self.compensate(
                        id,
                        "refund payment received after cancellation",
                        Some(amount),
                        err.to_string(),
                    )
                    .await;
                }
            }
        }
        let held = hold.is_some();
        let committed = self
            .commit(
                &before,
                events,
                actor,
                now,
                Extras {
                    inbound_event: Some(&event.event_id),
                    stock: hold,
                },
            )
            .await;
        if committed.is_err() && held {
            self.align_stock(id).await;
        }
        match committed {
            Err(OrderError::Store(crate::error::StoreError::DuplicateInboundEvent { .. })) => {
                self.get(id).await
            }
            other => other,
        }
    }

    /// Refunds `amount` of the captured money.
    ///
    /// # Errors
    /// [`RuleViolation::RefundExceedsCaptured`] above captured − refunded;
    /// [`OrderError::Transition`] when nothing was captured; gateway errors.
    pub async fn refund(
        &self,
        id: OrderId,
        amount: Money,
        reason: Reason,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        self.refund_for(id, amount, reason, None, actor).await
    }

    pub(super) async fn refund_for(
        &self,
        id: OrderId,
        amount: Money,
        reason: Reason,
        return_id: Option<ReturnId>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        if amount.is_zero() || amount.is_negative() {
            return Err(RuleViolation::NonPositiveAmount.into());
        }
        // The refund moves money before the write: decided on the store's
        // order.
        let mut before = self.fetch(id).await?;
        let now = self.now();
        let count = before
            .payments()
            .entries()
            .iter()
            .filter(|e| e.kind == PaymentKind::Refund)
            .count();
        let key = format!("{id}:refund:{}:{}", count + 1, amount.minor());
        // Decide first with a provisional entry: an over-refund or a refund
        // in the wrong state never reaches the gateway.
        let mut entry = self.payment_entry(
            PaymentKind::Refund,
            amount,
            None,
            key.clone(),
            Some(reason),
            now,
        )?;
        entry.return_id = return_id;
        before.decide(
            &Command::Refund {
                entry: entry.clone(),
            },
            now,
        )?;
        let capture = before
            .payments()
            .capture_reference()
            .cloned()
            .ok_or(RuleViolation::NonPositiveAmount)?;
        let gateway = &self.ports.payments;
        let reference = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            gateway.refund(&capture, amount, &key)
        })
        .await
        .map_err(|err| gateway_error(id, err))?;
        entry.reference = Some(reference);
        let mut tries = 0;
        loop {
            // The money moved: record it, on a fresh state if another writer
            // won the race.
            let outcome = match before.decide(
                &Command::Refund {
                    entry: entry.clone(),
                },
                now,
            ) {
                Ok(events) => {
                    self.commit(&before, events, actor, now, Extras::default())
                        .await
                }
                Err(err) => Err(err),
            };
            match outcome {
                Err(OrderError::VersionConflict { .. }) if tries < CONFLICT_RETRIES => {
                    tries += 1;
                    before = self.fetch(id).await?;
                    if let Some(reference) = &entry.reference
                        && records_reference(&before, PaymentKind::Refund, reference)
                    {
                        // The provider's `payment.refunded` for this very
                        // refund was applied first.
                        return Ok(before);
                    }
                }
                Err(err) => {
                    self.compensate(
                        id,
                        "record a refund the gateway made",
                        Some(amount),
                        err.to_string(),
                    )
                    .await;
                    return Err(err);
                }
                Ok(after) => return Ok(after),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    proptest::proptest! {
        /// A resumed attempt must present the gateway the keys of its first
        /// run, whichever build made them.
        #[test]
        fn an_attempt_key_reads_as_its_format(
            id in any_order_id(),
            attempt: u32,
            minor in -(1_i128 << 95)..(1_i128 << 95),
        ) {
            let due = Money::from_minor(minor, Currency::USD).unwrap();
            proptest::prop_assert_eq!(attempt_key(id, attempt, due), format!("{id}:{attempt}:{minor}"));
        }

        /// Prices as they come, which fit 64 bits and are written digit by
        /// digit.
        #[test]
        fn an_attempt_key_for_a_price_reads_as_its_format(
            id in any_order_id(),
            attempt: u32,
            minor: u64,
        ) {
            let due = Money::from_minor(minor.into(), Currency::USD).unwrap();
            proptest::prop_assert_eq!(attempt_key(id, attempt, due), format!("{id}:{attempt}:{minor}"));
        }
    }

    fn any_order_id() -> impl proptest::strategy::Strategy<Value = OrderId> {
        proptest::strategy::Strategy::prop_map(proptest::prelude::any::<u128>(), |bits| {
            // Version 7, variant 10.
            let bits = (bits & !(0xf << 76) & !(0b11 << 62)) | (0x7 << 76) | (0b10 << 62);
            OrderId::new(uuid::Uuid::from_u128(bits)).unwrap()
        })
    }
}
