//! Fulfilment: processing (capturing first when payment is captured on
//! processing), shipments, delivery, completion, cancellation, expiry and
//! returns.

use super::payment::{Receipts, gateway_error, holds_payment};
use super::stock::StockChange;
use super::{CONFLICT_RETRIES, Extras, OrderService};
use crate::command::Command;
use crate::error::{OrderError, RuleViolation};
use crate::id::{OrderId, ReturnId, ShipmentId};
use crate::ledger::PaymentKind;
use crate::order::{LineQuantity, Order};
use crate::ports::{OrderQuery, SortOrder};
use crate::retry::with_retry;
use crate::scope::Scope;
use crate::status::{OrderStatus, PaymentStatus};
use crate::text::{Actor, Carrier, Reason, TrackingNumber};

impl OrderService {
    /// Starts processing a confirmed order; captures first when payments are
    /// captured on processing.
    ///
    /// # Errors
    /// [`OrderError::Transition`] unless confirmed; gateway errors for the
    /// capture (nothing persisted). A capture that cannot be recorded (the
    /// order changed meanwhile so that it no longer applies) is refunded.
    pub async fn start_processing(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        // A capture moves money before the write: decided on the store's
        // order only.
        let captures = |order: &Order| order.payment_status() == PaymentStatus::Authorized;
        self.decide_on(id, Scope::All, expected_version, captures, |before| {
            self.start_processing_from(before, expected_version, actor)
        })
        .await
    }

    /// [`OrderService::start_processing`] from `before`.
    async fn start_processing_from(
        &self,
        mut before: Order,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let id = before.id();
        let now = self.now();
        if before.payment_status() != PaymentStatus::Authorized {
            let events = before.decide(&Command::StartProcessing, now)?;
            return self
                .commit(&before, events, actor, now, Extras::default())
                .await;
        }
        before.decide(&Command::StartProcessing, now)?;
        let authorization = before
            .payments()
            .authorization_reference()
            .cloned()
            .ok_or(RuleViolation::NonPositiveAmount)?;
        let amount = before.payments().capturable()?;
        let key = format!("{id}:{}:capture", before.payment_attempts());
        let gateway = &self.ports.payments;
        let reference = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            gateway.capture(&authorization, amount, &key)
        })
        .await
        .map_err(|err| gateway_error(id, err))?;
        let entry = self.payment_entry(
            PaymentKind::Capture,
            amount,
            Some(reference),
            key,
            None,
            now,
        )?;
        let receipts = Receipts::capture(entry.clone());
        let mut tries = 0;
        loop {
            // The money moved: record it with the start of processing, on a
            // fresh state if an unrelated change won the race.
            let recorded = match before.decide(
                &Command::RecordCapture {
                    entry: entry.clone(),
                },
                now,
            ) {
                Ok(capture) => {
                    let working = before.with_events(&capture, actor, now);
                    match working.decide(&Command::StartProcessing, now) {
                        Ok(start) => {
                            let events = capture.into_iter().chain(start).collect();
                            self.commit(&before, events, actor, now, Extras::default())
                                .await
                        }
                        Err(err) => Err(err),
                    }
                }
                Err(err) => Err(err),
            };
            let err = match recorded {
                Ok(after) => return Ok(after),
                Err(err) => err,
            };
            let current = match self.fetch(id).await {
                Ok(current) => current,
                Err(lookup) => {
                    self.compensate(
                        id,
                        "record a capture the gateway made",
                        Some(amount),
                        format!("{err}; the order could not be read back: {lookup}"),
                    )
                    .await;
                    return Err(err);
                }
            };
            if holds_payment(&current, &receipts) {
                return Ok(current);
            }
            let still_applies = current.status() == OrderStatus::Confirmed
                && current.payment_status() == PaymentStatus::Authorized
                && current.payments().capturable().ok() == Some(amount);
            if !still_applies || expected_version.is_some() || tries >= CONFLICT_RETRIES {
                self.give_back(id, &receipts, amount).await;
                return Err(err);
            }
            tries += 1;
            before = current;
        }
    }

    /// Ships units of some lines.
    ///
    /// # Errors
    /// [`OrderError::Transition`] unless processing or partially shipped;
    /// [`RuleViolation::ShipsMoreThanOrdered`]; a missing carrier for
    /// physical goods.
    pub async fn ship(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        lines: Vec<LineQuantity>,
        carrier: Option<Carrier>,
        tracking_number: Option<TrackingNumber>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let shipment_id = self.mint(ShipmentId::new)?;
        self.execute(id, expected_version, actor, |_| {
            Ok(Command::Ship {
                shipment_id,
                lines: lines.clone(),
                carrier: carrier.clone(),
                tracking_number: tracking_number.clone(),
            })
        })
        .await
    }

    /// Marks a shipment delivered.
    ///
    /// # Errors
    /// [`OrderError::Transition`]; unknown or already delivered shipment.
    pub async fn deliver(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        shipment_id: ShipmentId,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        self.execute(id, expected_version, actor, |_| {
            Ok(Command::Deliver { shipment_id })
        })
        .await
    }

    /// Completes a delivered order whose return window has passed.
    ///
    /// # Errors
    /// [`OrderError::Transition`]; [`RuleViolation::ReturnWindowOpen`];
    /// [`RuleViolation::OpenReturn`].
    pub async fn complete(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let window = self.config.return_window;
        self.execute(id, expected_version, actor, |_| {
            Ok(Command::Complete {
                return_window: window,
            })
        })
        .await
    }

    /// Cancels an order that has not shipped: voids an authorization or
    /// refunds the capture, records why and by whom, and releases or
    /// restocks its stock. If the money cannot be given back the order is
    /// not cancelled and the error says why.
    ///
    /// # Errors
    /// [`OrderError::Transition`] once anything shipped; gateway errors.
    pub async fn cancel(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        reason: Reason,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        // Giving money back happens before the write: decided on the
        // store's order only.
        let gives_back = |order: &Order| {
            matches!(
                order.payment_status(),
                PaymentStatus::Authorized | PaymentStatus::Paid | PaymentStatus::PartiallyRefunded
            )
        };
        self.decide_on(id, Scope::All, expected_version, gives_back, |before| {
            self.cancel_from(before, expected_version, &reason, actor)
        })
        .await
    }

    /// [`OrderService::cancel`] from `before`.
    async fn cancel_from(
        &self,
        mut before: Order,
        expected_version: Option<u64>,
        reason: &Reason,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let id = before.id();
        let mut tries = 0;
        loop {
            let now = self.now();
            let cancel = Command::Cancel {
                reason: reason.clone(),
            };
            before.decide(&cancel, now)?;
            let mut events = Vec::new();
            let mut working = before.clone();
            let gateway = &self.ports.payments;
            let timer = self.ports.timer.as_ref();
            let retry = &self.config.retry;
            let money_error = |err| gateway_error(id, err);
            match before.payment_status() {
                PaymentStatus::Authorized => {
                    let authorization = before
                        .payments()
                        .authorization_reference()
                        .cloned()
                        .ok_or(RuleViolation::NonPositiveAmount)?;
                    let key = format!("{id}:cancel:void");
                    let reference = with_retry(retry, timer, || gateway.void(&authorization, &key))
                        .await
                        .map_err(money_error)?;
                    let entry = self.payment_entry(
                        PaymentKind::Void,
                        before.payments().capturable()?,
                        Some(reference),
                        key,
                        Some(reason.clone()),
                        now,
                    )?;
                    let voided = working.decide(&Command::RecordVoid { entry }, now)?;
                    working.apply_events(&voided, actor, now);
                    events.extend(voided);
                }
                PaymentStatus::Paid | PaymentStatus::PartiallyRefunded => {
                    let capture = before
                        .payments()
                        .capture_reference()
                        .cloned()
                        .ok_or(RuleViolation::NonPositiveAmount)?;
                    let amount = before.payments().refundable()?;
                    if !amount.is_zero() {
                        let key = format!("{id}:cancel:refund");
                        let reference =
                            with_retry(retry, timer, || gateway.refund(&capture, amount, &key))
                                .await
                                .map_err(money_error)?;
                        let entry = self.payment_entry(
                            PaymentKind::Refund,
                            amount,
                            Some(reference),
                            key,
                            Some(reason.clone()),
                            now,
                        )?;
                        let refunded = working.decide(&Command::Refund { entry }, now)?;
                        working.apply_events(&refunded, actor, now);
                        events.extend(refunded);
                    }
                }
                PaymentStatus::Unpaid
                | PaymentStatus::Pending
                | PaymentStatus::Failed
                | PaymentStatus::Voided
                | PaymentStatus::Refunded => {}
            }
            events.extend(working.decide(&cancel, now)?);
            match self
                .commit(&before, events, actor, now, Extras::default())
                .await
            {
                // The gateway calls above are idempotent by key, so deciding
                // again cannot move money twice.
                Err(OrderError::VersionConflict { .. })
                    if expected_version.is_none() && tries < CONFLICT_RETRIES =>
                {
                    tries += 1;
                    before = self.fetch(id).await?;
                }
                other => return other,
            }
        }
    }

    /// Cancels pending orders whose payment never started (or failed) and
    /// that sat unchanged for the pending time-to-live; releases their stock.
    /// Returns the ids it expired.
    ///
    /// # Errors
    /// Store failures while listing.
    pub async fn expire_stale(&self, limit: usize) -> Result<Vec<OrderId>, OrderError> {
        let now = self.now();
        let ttl = self.config.pending_ttl;
        let candidates = self
            .ports
            .store
            .list(&OrderQuery {
                status: Some(OrderStatus::Pending),
                created_to: Some(now - ttl),
                sort: SortOrder::OldestFirst,
                limit: limit.clamp(1, OrderQuery::MAX_LIMIT),
                ..OrderQuery::default()
            })
            .await?;
        let system = Actor::system();
        let mut expired = Vec::new();
        for order in candidates.orders {
            if let Ok(after) = self
                .execute(order.id(), None, &system, |_| Ok(Command::Expire { ttl }))
                .await
            {
                expired.push(after.id());
            }
        }
        Ok(expired)
    }

    /// Completes delivered orders whose return window has passed. Returns the
    /// ids it completed.
    ///
    /// # Errors
    /// Store failures while listing.
    pub async fn complete_due(&self, limit: usize) -> Result<Vec<OrderId>, OrderError> {
        let now = self.now();
        let candidates = self
            .ports
            .store
            .list(&OrderQuery {
                status: Some(OrderStatus::Delivered),
                created_to: Some(now - self.config.return_window),
                sort: SortOrder::OldestFirst,
                limit: limit.clamp(1, OrderQuery::MAX_LIMIT),
                ..OrderQuery::default()
            })
            .await?;
        let system = Actor::system();
        let mut completed = Vec::new();
        for order in candidates.orders {
            if self.complete(order.id(), None, &system).await.is_ok() {
                completed.push(order.id());
            }
        }
        Ok(completed)
    }

    /// Opens a return of shipped units.
    ///
    /// # Errors
    /// [`OrderError::Transition`] unless shipped or delivered;
    /// [`RuleViolation::ReturnWindowClosed`];
    /// [`RuleViolation::ReturnsMoreThanShipped`].
    pub async fn request_return(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        lines: Vec<LineQuantity>,
        reason: Reason,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let return_id = self.mint(ReturnId::new)?;
        let window = self.config.return_window;
        self.execute(id, expected_version, actor, |_| {
            Ok(Command::RequestReturn {
                return_id,
                lines: lines.clone(),
                reason: reason.clone(),
                return_window: window,
            })
        })
        .await
    }

    /// Receives a return's units, restocks them, and with `refund` pays back
    /// the return's amount (bounded by what is still refundable).
    ///
    /// # Errors
    /// [`OrderError::Transition`]; unknown or already received return; gateway
    /// errors for the refund (the receipt itself stays recorded).
    pub async fn receive_return(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        return_id: ReturnId,
        refund: bool,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let after = self
            .decide_on(
                id,
                Scope::All,
                expected_version,
                |_| false,
                |before| self.receive_from(before, expected_version, return_id, actor),
            )
            .await?;
        let Some(ret) = after.return_(return_id).cloned() else {
            return Ok(after);
        };
        if !refund {
            return Ok(after);
        }
        let amount = ret.refund_amount.min(&after.payments().refundable()?)?;
        if amount.is_zero() || amount.is_negative() {
            return Ok(after);
        }
        let reason = Reason::parse(&format!("return {return_id}: {}", ret.reason))
            .unwrap_or_else(|_| ret.reason.clone());
        self.refund_for(id, amount, reason, Some(return_id), actor)
            .await
    }

    /// The receipt of [`OrderService::receive_return`] from `before`, with
    /// its restock.
    async fn receive_from(
        &self,
        mut before: Order,
        expected_version: Option<u64>,
        return_id: ReturnId,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let id = before.id();
        let mut tries = 0;
        loop {
            let now = self.now();
            let events = before.decide(&Command::ReceiveReturn { return_id }, now)?;
            let ret = before
                .return_(return_id)
                .ok_or(RuleViolation::UnknownReturn(return_id))?;
            let items = Self::stock_items(ret.lines.iter().filter_map(|part| {
                before
                    .line(part.line_id)
                    .map(|line| (&line.sku, part.quantity.get()))
            }));
            let restock = StockChange::Restock {
                key: format!("return:{return_id}"),
                items,
            };
            match self
                .commit(
                    &before,
                    events,
                    actor,
                    now,
                    Extras {
                        stock: Some(restock),
                        ..Extras::default()
                    },
                )
                .await
            {
                Err(OrderError::VersionConflict { .. })
                    if expected_version.is_none() && tries < CONFLICT_RETRIES =>
                {
                    tries += 1;
                    before = self.fetch(id).await?;
                }
                other => return other,
            }
        }
    }
}
