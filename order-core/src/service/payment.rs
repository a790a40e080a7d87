//! Money: checkout (authorize, capture, confirm), failures and their
//! compensation, payment webhooks, and refunds.
//!
//! Gateway idempotency keys are derived from the order, the attempt and the
//! amount, so a retried call never moves money twice, and an attempt whose
//! amount changed never replays an old operation.

use chrono::{DateTime, Utc};

use super::stock::StockChange;
use super::{
    CONFLICT_RETRIES, CaptureMode, Extras, OrderService, PaymentEvent, PaymentEventKind,
    PaymentFlow, StockKeeping,
};
use crate::command::Command;
use crate::error::{OrderError, PaymentError, RuleViolation};
use crate::event::OrderEvent;
use crate::id::{OrderId, PaymentEntryId, ReturnId};
use crate::ledger::{PaymentEntry, PaymentKind};
use crate::money::Money;
use crate::order::{Order, Reservation};
use crate::ports::PaymentRequest;
use crate::retry::with_retry;
use crate::status::{OrderStatus, PaymentAction, PaymentStatus, payment_targets};
use crate::text::{Actor, GatewayReference, Reason};

/// The gateway's answers for one attempt, to be recorded on the order.
#[derive(Clone, Debug)]
struct Receipts {
    authorization: Option<PaymentEntry>,
    capture: Option<PaymentEntry>,
    confirm_on_authorization: bool,
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
        let mut events = Vec::new();
        let mut working = base.clone();
        let step = |working: &mut Order,
                    command: Command,
                    events: &mut Vec<OrderEvent>|
         -> Result<(), OrderError> {
            let new = working.decide(&command, now)?;
            *working = self.preview_apply(working, &new, actor, now)?;
            events.extend(new);
            Ok(())
        };
        if !payment_targets(working.payment_status(), PaymentAction::Start).is_empty() {
            step(
                &mut working,
                Command::StartPayment {
                    reservation_expires_at,
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
        Ok(events)
    }

    /// Checkout with [`PaymentFlow::External`]: a payment service charges the
    /// customer, so the engine only records that payment started (payment
    /// status `pending`, the stock held again after an earlier failure) and
    /// waits for `payment.processed` or `payment.failed`. Asking again while
    /// the payment is pending answers the order as it is.
    async fn start_external_payment(
        &self,
        id: OrderId,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let before = self.get(id).await?;
        if before.status() == OrderStatus::Pending
            && before.payment_status() == PaymentStatus::Pending
        {
            return Ok(before);
        }
        let now = self.now();
        let until =
            (before.reservation() == Reservation::Released).then(|| now + self.config.pending_ttl);
        let start = before.decide(
            &Command::StartPayment {
                reservation_expires_at: until,
            },
            now,
        )?;
        let Some(until) = until else {
            return self
                .commit(&before, start, actor, now, Extras::default())
                .await;
        };
        let (after, hold) = self.hold_before_charging(before, until, actor, now).await?;
        let Some(reserved) = hold else {
            // The store keeps the stock: the start and the hold committed together.
            return Ok(after);
        };
        let extras = Extras {
            stock: Some(reserved),
            ..Extras::default()
        };
        let committed = self.commit(&after, start, actor, now, extras).await;
        if committed.is_err() {
            self.align_stock(id).await;
        }
        committed
    }

    /// Checkout. With [`PaymentFlow::Gateway`]: reserve again if an earlier
    /// attempt failed, authorize and (by the capture mode) capture the amount
    /// due, confirm and commit the stock. With [`PaymentFlow::External`]: only
    /// record that payment started (payment status `pending`); a payment
    /// event settles it. A decline leaves the order pending with payment failed and its
    /// stock released; a capture failure voids the authorization. If another
    /// writer changed the order meanwhile, the payment is recorded on the
    /// fresh state when it still applies, and given back when it does not.
    ///
    /// # Errors
    /// [`OrderError::PaymentDeclined`] after persisting the failure;
    /// [`OrderError::Transition`] unless pending and unpaid or failed;
    /// [`OrderError::OutOfStock`] when a retry cannot reserve again;
    /// [`OrderError::Unavailable`] when the gateway cannot answer.
    pub async fn pay(&self, id: OrderId, actor: &Actor) -> Result<Order, OrderError> {
        if self.config.payments == PaymentFlow::External {
            return self.start_external_payment(id, actor).await;
        }
        let mut before = self.get(id).await?;
        let now = self.now();
        let until =
            (before.reservation() == Reservation::Released).then(|| now + self.config.pending_ttl);
        // Refuse early, before any port is called.
        before.decide(
            &Command::StartPayment {
                reservation_expires_at: until,
            },
            now,
        )?;
        let mut hold = None;
        if let Some(until) = until {
            (before, hold) = self.hold_before_charging(before, until, actor, now).await?;
        }
        let held = hold.is_some();
        let charged = self.charge(before, until, hold, actor, now).await;
        if charged.is_err() && held {
            self.align_stock(id).await;
        }
        charged
    }

    /// Holds the order's stock again before money moves. With the store
    /// keeping stock, the start of the attempt and the reservation commit
    /// first, together, and the committed order comes back; with an
    /// inventory service the hold is made through the port and comes back
    /// to be planned into the final commit.
    async fn hold_before_charging(
        &self,
        before: Order,
        until: DateTime<Utc>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Order, Option<StockChange>), OrderError> {
        let reserved = self
            .hold(before.id(), Self::active_items(&before), until)
            .await?;
        match self.config.stock {
            StockKeeping::Store => {
                let start = before.decide(
                    &Command::StartPayment {
                        reservation_expires_at: Some(until),
                    },
                    now,
                )?;
                let extras = Extras {
                    stock: Some(reserved),
                    ..Extras::default()
                };
                Ok((self.commit(&before, start, actor, now, extras).await?, None))
            }
            StockKeeping::Inventory => Ok((before, Some(reserved))),
        }
    }

    async fn charge(
        &self,
        mut before: Order,
        until: Option<DateTime<Utc>>,
        mut hold: Option<StockChange>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Order, OrderError> {
        let id = before.id();
        let due = before.amount_due();
        let attempt = match before.payment_status() {
            PaymentStatus::Pending => before.payment_attempts(),
            _ => before.payment_attempts() + 1,
        };
        let key = format!("{id}:{attempt}:{}", due.minor());
        let mut receipts = Receipts {
            authorization: None,
            capture: None,
            confirm_on_authorization: self.config.capture == CaptureMode::OnProcessing,
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
                idempotency_key: format!("{key}:authorize"),
            };
            let authorization = match with_retry(retry, timer, || gateway.authorize(&request)).await
            {
                Ok(reference) => reference,
                Err(err) => {
                    return self
                        .fail_payment(&before, until, hold, err, None, actor, now)
                        .await;
                }
            };
            receipts.authorization = Some(self.payment_entry(
                PaymentKind::Authorize,
                due,
                Some(authorization.clone()),
                request.idempotency_key.clone(),
                None,
                now,
            )?);
            if !receipts.confirm_on_authorization {
                let capture_key = format!("{key}:capture");
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
                        return self
                            .fail_payment(
                                &before,
                                until,
                                hold,
                                err,
                                Some((&authorization, &receipts)),
                                actor,
                                now,
                            )
                            .await;
                    }
                }
            }
        }

        let mut tries = 0;
        loop {
            let events = self.payment_events(&before, until, &receipts, actor, now)?;
            let extras = Extras {
                stock: hold.take(),
                ..Extras::default()
            };
            match self.commit(&before, events, actor, now, extras).await {
                Ok(after) => return Ok(after),
                Err(err @ OrderError::VersionConflict { .. }) if tries < CONFLICT_RETRIES => {
                    tries += 1;
                    let current = self.get(id).await?;
                    let recorded =
                        receipts
                            .authorization
                            .iter()
                            .chain(&receipts.capture)
                            .any(|ours| {
                                current
                                    .payments()
                                    .entries()
                                    .iter()
                                    .any(|e| e.reference.is_some() && e.reference == ours.reference)
                            });
                    if recorded {
                        // A concurrent retry of this very attempt won.
                        return Ok(current);
                    }
                    let still_applies = current.status() == before.status()
                        && current.payment_status() == before.payment_status()
                        && current.amount_due() == due
                        && current.reservation() == before.reservation();
                    if !still_applies {
                        self.give_back(id, &receipts, due).await;
                        return Err(err);
                    }
                    // An unrelated change won (notes, an address): record the
                    // same payment on the fresh state. With an inventory
                    // service our hold is in place, so the plan starts from it.
                    if until.is_some() && self.config.stock == StockKeeping::Inventory {
                        hold = Some(StockChange::Reserve {
                            items: Self::active_items(&current),
                            until: until.unwrap_or(now),
                        });
                    }
                    before = current;
                }
                Err(err) => {
                    self.give_back(id, &receipts, due).await;
                    return Err(err);
                }
            }
        }
    }

    /// Undoes money taken for a payment that could not be recorded.
    async fn give_back(&self, id: OrderId, receipts: &Receipts, amount: Money) {
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
    #[allow(clippy::too_many_arguments)]
    async fn fail_payment(
        &self,
        before: &Order,
        until: Option<DateTime<Utc>>,
        hold: Option<StockChange>,
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
        let mut events = self.payment_events(before, until, &receipts, actor, now)?;
        let mut working = self.preview_apply(before, &events, actor, now)?;
        let failure = working.decide(&Command::RecordPaymentFailure { code, reason }, now)?;
        working = self.preview_apply(&working, &failure, actor, now)?;
        events.extend(failure);
        if let Some(entry) = void {
            events.extend(working.decide(&Command::RecordVoid { entry }, now)?);
        }
        self.commit(
            before,
            events,
            actor,
            now,
            Extras {
                stock: hold,
                ..Extras::default()
            },
        )
        .await?;
        Err(gateway_error(before.id(), err))
    }

    /// Applies a payment provider's notification, once per event id: a
    /// capture confirms a pending order (or is refunded at once if the order
    /// was cancelled meanwhile); a failure releases the stock; an external
    /// refund is recorded within what was captured. A notification the order
    /// refuses changes nothing, stock included.
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
        let mut before = self.get(event.order_id).await?;
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
                if let Some(until) = until {
                    let (held, reserved) =
                        self.hold_before_charging(before, until, actor, now).await?;
                    before = held;
                    events = match reserved {
                        Some(reserved) => {
                            hold = Some(reserved);
                            planned
                        }
                        None => self.payment_events(&before, None, &receipts, actor, now)?,
                    };
                } else {
                    events = planned;
                }
                let working = self.preview_apply(&before, &events, actor, now)?;
                if working.status() == OrderStatus::Cancelled {
                    late_capture = Some((reference.clone(), *amount));
                }
            }
            PaymentEventKind::Failed { code, reason } => {
                events = before.decide(
                    &Command::RecordPaymentFailure {
                        code: code.clone(),
                        reason: reason.clone(),
                    },
                    now,
                )?;
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
                    let working = self.preview_apply(&before, &events, actor, now)?;
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
        let mut before = self.get(id).await?;
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
                    before = self.get(id).await?;
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
