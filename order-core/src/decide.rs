//! Decisions: [`Order::decide`] is a pure function of an order, a command and
//! the time. It consults the transition tables of `status.rs` and the ledgers,
//! and returns the events the command causes, or the error that refuses it.
//! Nothing here performs I/O, so a dry-run is a decision that is not stored.

use chrono::{DateTime, Utc};

use crate::allocation::allocate;
use crate::command::{Command, DetailsChange};
use crate::error::{OrderError, RuleViolation, TransitionError, ValidationError};
use crate::event::OrderEvent;
use crate::ledger::{LineQuantities, PaymentEntry, PaymentKind};
use crate::money::Money;
use crate::order::{
    LineQuantity, Order, ProductKind, Reservation, Return, Shipment, totals_identity_holds,
};
use crate::status::{Action, OrderStatus, PaymentStatus, order_targets, payment_targets};

impl Order {
    /// Decides `command` at `now`: the events it causes, in order, or why it
    /// is refused. Applying the events in order yields the new state.
    ///
    /// # Errors
    /// [`OrderError::Transition`] when the state machine refuses the action in
    /// the current status or payment status; [`OrderError::Rule`] or
    /// [`OrderError::Validation`] when the command breaks an order rule.
    pub fn decide(
        &self,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        self.admit(command)?;
        self.decide_admitted(command, now)
    }

    /// [`Order::decide`], taking the command: the payment entry of a
    /// recorded authorization or capture moves into its event instead of
    /// being copied (checkout records both).
    pub(crate) fn decide_owned(
        &self,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        self.admit(&command)?;
        match command {
            Command::RecordAuthorization { entry, confirm } => self.authorized(entry, confirm),
            Command::RecordCapture { entry } => self.captured(entry),
            other => self.decide_admitted(&other, now),
        }
    }

    /// Refuses an action the state machine does not allow now.
    fn admit(&self, command: &Command) -> Result<(), OrderError> {
        self.check(command.action())?;
        if let Some(payment_action) = command.payment_action()
            && payment_targets(self.payment_status(), payment_action).is_empty()
        {
            return Err(self.refuse(command.action()).into());
        }
        Ok(())
    }

    /// The events of an [admitted](Order::admit) command.
    fn decide_admitted(
        &self,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        match command {
            Command::ChangeLines {
                lines,
                totals,
                reservation_expires_at,
            } => {
                self.require_payment_not_started(Action::EditLines)?;
                if lines.is_empty() {
                    return Err(RuleViolation::LastLine.into());
                }
                if !totals_identity_holds(totals) || totals.total.currency() != self.currency() {
                    return Err(ValidationError::NonPositiveTotal.into());
                }
                Ok(vec![OrderEvent::LinesChanged {
                    lines: lines.clone(),
                    totals: *totals,
                    reservation_expires_at: *reservation_expires_at,
                }])
            }
            Command::UpdateDetails { change, totals } => self.decide_details(change, totals),
            Command::StartPayment {
                reservation_expires_at,
                payment_method,
            } => {
                if self.reservation() == Reservation::Released && reservation_expires_at.is_none() {
                    return Err(RuleViolation::StockNotReserved.into());
                }
                Ok(vec![OrderEvent::PaymentStarted {
                    attempt: self.payment_attempts() + 1,
                    amount: self.amount_due(),
                    reservation_expires_at: *reservation_expires_at,
                    payment_method: payment_method.clone(),
                }])
            }
            Command::RecordAuthorization { entry, confirm } => {
                self.authorized(entry.clone(), *confirm)
            }
            Command::RecordCapture { entry } => self.captured(entry.clone()),
            Command::RecordPaymentFailure { code, reason } => {
                // Once confirmed, the money is settled: a failure report is
                // stale (or a capture problem the capture call reports).
                if !matches!(self.status(), OrderStatus::Pending | OrderStatus::Cancelled) {
                    return Err(self.refuse(Action::RecordPayment).into());
                }
                Ok(vec![OrderEvent::PaymentFailed {
                    code: code.clone(),
                    reason: reason.clone(),
                }])
            }
            Command::RecordVoid { entry } => {
                self.require_entry(entry, PaymentKind::Void)?;
                let capturable = self.payments().capturable()?;
                if entry.amount != capturable {
                    return Err(RuleViolation::PaymentAmountMismatch {
                        paid: entry.amount,
                        due: capturable,
                    }
                    .into());
                }
                Ok(vec![OrderEvent::PaymentVoided(entry.clone())])
            }
            Command::Refund { entry } => {
                self.require_entry(entry, PaymentKind::Refund)?;
                let refundable = self.payments().refundable()?;
                if entry.amount.cmp_amount(&refundable)?.is_gt() {
                    return Err(RuleViolation::RefundExceedsCaptured {
                        requested: entry.amount,
                        refundable,
                    }
                    .into());
                }
                Ok(vec![OrderEvent::Refunded(entry.clone())])
            }
            Command::StartProcessing => {
                if !matches!(
                    self.payment_status(),
                    PaymentStatus::Paid | PaymentStatus::Authorized
                ) {
                    return Err(self.refuse(Action::StartProcessing).into());
                }
                Ok(vec![OrderEvent::ProcessingStarted])
            }
            Command::Ship {
                shipment_id,
                lines,
                carrier,
                tracking_number,
            } => {
                self.require_selection("shipment", lines)?;
                let mut physical = false;
                for part in lines {
                    let line = self
                        .line(part.line_id)
                        .ok_or(RuleViolation::UnknownLine(part.line_id))?;
                    physical |= line.kind == ProductKind::Physical;
                    if part.quantity.get() > line.quantities.to_ship() {
                        return Err(RuleViolation::ShipsMoreThanOrdered {
                            line: line.id,
                            requested: part.quantity.get(),
                            remaining: line.quantities.to_ship(),
                        }
                        .into());
                    }
                }
                if physical && carrier.is_none() {
                    return Err(ValidationError::Empty {
                        field: "carrier".into(),
                    }
                    .into());
                }
                if self.shipment(*shipment_id).is_some() {
                    return Err(RuleViolation::BadLineSelection {
                        what: "shipment id",
                    }
                    .into());
                }
                Ok(vec![OrderEvent::Shipped(Shipment {
                    id: *shipment_id,
                    lines: lines.clone(),
                    carrier: carrier.clone(),
                    tracking_number: tracking_number.clone(),
                    shipped_at: now,
                    delivered_at: None,
                })])
            }
            Command::Deliver { shipment_id } => {
                let shipment = self
                    .shipment(*shipment_id)
                    .ok_or(RuleViolation::UnknownShipment(*shipment_id))?;
                if shipment.delivered_at.is_some() {
                    return Err(RuleViolation::AlreadyDelivered(*shipment_id).into());
                }
                Ok(vec![OrderEvent::ShipmentDelivered {
                    shipment_id: *shipment_id,
                }])
            }
            Command::Complete { return_window } => {
                let delivered_at = self.delivered_at().unwrap_or(self.updated_at());
                let opens_at = delivered_at + *return_window;
                if now < opens_at {
                    return Err(RuleViolation::ReturnWindowOpen { opens_at }.into());
                }
                if let Some(open) = self.returns().iter().find(|r| r.received_at.is_none()) {
                    return Err(RuleViolation::OpenReturn(open.id).into());
                }
                Ok(vec![OrderEvent::Completed])
            }
            Command::Cancel { reason } => Ok(vec![OrderEvent::Cancelled {
                reason: reason.clone(),
                expired: false,
            }]),
            Command::Expire { ttl } => {
                if !matches!(
                    self.payment_status(),
                    PaymentStatus::Unpaid | PaymentStatus::Failed
                ) {
                    return Err(RuleViolation::NotStale {
                        reason: "its payment is in progress",
                    }
                    .into());
                }
                if now < self.updated_at() + *ttl {
                    return Err(RuleViolation::NotStale {
                        reason: "it changed within the pending time-to-live",
                    }
                    .into());
                }
                Ok(vec![OrderEvent::Cancelled {
                    reason: crate::text::Reason::parse("expired").map_err(OrderError::from)?,
                    expired: true,
                }])
            }
            Command::RequestReturn {
                return_id,
                lines,
                reason,
                return_window,
            } => {
                if let Some(delivered_at) = self.delivered_at() {
                    let closed_at = delivered_at + *return_window;
                    if now > closed_at {
                        return Err(RuleViolation::ReturnWindowClosed { closed_at }.into());
                    }
                }
                self.require_selection("return", lines)?;
                if self.return_(*return_id).is_some() {
                    return Err(RuleViolation::BadLineSelection { what: "return id" }.into());
                }
                let mut refund_amount = Money::zero(self.currency());
                for part in lines {
                    let line = self
                        .line(part.line_id)
                        .ok_or(RuleViolation::UnknownLine(part.line_id))?;
                    if line.kind == ProductKind::Digital {
                        return Err(RuleViolation::DigitalNotReturnable { line: line.id }.into());
                    }
                    let returnable = line.quantities.returnable();
                    if part.quantity.get() > returnable {
                        return Err(RuleViolation::ReturnsMoreThanShipped {
                            line: line.id,
                            requested: part.quantity.get(),
                            returnable,
                        }
                        .into());
                    }
                    let already = line.quantities.returned + line.quantities.return_requested;
                    let share = unit_share(
                        line.amounts.total,
                        line.quantities.ordered,
                        already,
                        part.quantity.get(),
                    )?;
                    refund_amount = refund_amount.checked_add(&share)?;
                }
                Ok(vec![OrderEvent::ReturnRequested(Return {
                    id: *return_id,
                    lines: lines.clone(),
                    reason: reason.clone(),
                    refund_amount,
                    requested_at: now,
                    received_at: None,
                })])
            }
            Command::ReceiveReturn { return_id } => {
                let ret = self
                    .return_(*return_id)
                    .ok_or(RuleViolation::UnknownReturn(*return_id))?;
                if ret.received_at.is_some() {
                    return Err(RuleViolation::AlreadyReceived(*return_id).into());
                }
                Ok(vec![OrderEvent::ReturnReceived {
                    return_id: *return_id,
                }])
            }
        }
    }

    /// Refuses unless the order table allows `action` in the current status.
    fn check(&self, action: Action) -> Result<(), TransitionError> {
        if order_targets(self.status(), action).is_empty() {
            Err(self.refuse(action))
        } else {
            Ok(())
        }
    }

    fn refuse(&self, action: Action) -> TransitionError {
        TransitionError {
            from: self.status(),
            payment: self.payment_status(),
            action,
        }
    }

    fn require_payment_not_started(&self, action: Action) -> Result<(), TransitionError> {
        if matches!(
            self.payment_status(),
            PaymentStatus::Unpaid | PaymentStatus::Failed
        ) {
            Ok(())
        } else {
            Err(self.refuse(action))
        }
    }

    /// The events of a recorded authorization (and of the confirmation
    /// it brings, with `confirm`).
    fn authorized(
        &self,
        entry: PaymentEntry,
        confirm: bool,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        self.require_entry(&entry, PaymentKind::Authorize)?;
        self.require_full_amount(entry.amount)?;
        let mut events = vec![OrderEvent::PaymentAuthorized(entry)];
        if confirm && self.status() == OrderStatus::Pending {
            self.check(Action::Confirm)?;
            events.push(OrderEvent::Confirmed);
        }
        Ok(events)
    }

    /// The events of a recorded capture: with the confirmation of a pending
    /// order, and the delivery of a digital-only one.
    fn captured(&self, entry: PaymentEntry) -> Result<Vec<OrderEvent>, OrderError> {
        self.require_entry(&entry, PaymentKind::Capture)?;
        if self.payment_status() == PaymentStatus::Authorized {
            let capturable = self.payments().capturable()?;
            if entry.amount.cmp_amount(&capturable)?.is_gt() {
                return Err(RuleViolation::CaptureExceedsAuthorized {
                    requested: entry.amount,
                    capturable,
                }
                .into());
            }
        }
        self.require_full_amount(entry.amount)?;
        let mut events = vec![OrderEvent::PaymentCaptured(entry)];
        if self.status() == OrderStatus::Pending {
            events.push(OrderEvent::Confirmed);
            events.extend(self.digital_delivery());
        }
        Ok(events)
    }

    fn require_entry(&self, entry: &PaymentEntry, kind: PaymentKind) -> Result<(), OrderError> {
        if entry.kind != kind || entry.amount.currency() != self.currency() {
            return Err(
                RuleViolation::Money(crate::error::MoneyError::CurrencyMismatch {
                    left: self.currency(),
                    right: entry.amount.currency(),
                })
                .into(),
            );
        }
        if entry.amount.is_negative() || (entry.amount.is_zero() && !self.totals().total.is_zero())
        {
            return Err(RuleViolation::NonPositiveAmount.into());
        }
        Ok(())
    }

    fn require_full_amount(&self, paid: Money) -> Result<(), OrderError> {
        let due = self.amount_due();
        if paid == due {
            Ok(())
        } else {
            Err(RuleViolation::PaymentAmountMismatch { paid, due }.into())
        }
    }

    fn require_selection(
        &self,
        what: &'static str,
        lines: &[LineQuantity],
    ) -> Result<(), RuleViolation> {
        let mut seen = std::collections::HashSet::with_capacity(lines.len());
        if lines.is_empty() || !lines.iter().all(|l| seen.insert(l.line_id)) {
            return Err(RuleViolation::BadLineSelection { what });
        }
        Ok(())
    }

    /// A digital-only order that becomes paid and confirmed has nothing to
    /// ship: its goods are handed over in the same decision (SPEC: digital
    /// lines need no shipment). A mixed order ships its digital lines with
    /// its parcels, as before.
    fn digital_delivery(&self) -> Option<OrderEvent> {
        let digital_only = !self.needs_shipping();
        let allowed = !order_targets(OrderStatus::Confirmed, Action::DeliverDigital).is_empty();
        (digital_only && allowed).then(|| OrderEvent::DeliveredDigitally {
            lines: self.units(LineQuantities::to_ship),
        })
    }

    fn decide_details(
        &self,
        change: &DetailsChange,
        totals: &crate::pricing::Totals,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        let method_changes = change
            .shipping_method
            .as_ref()
            .is_some_and(|m| Some(m) != self.shipping_method());
        let reprices = totals != self.totals();
        if method_changes || reprices {
            let editable = self.status() == OrderStatus::Pending
                && matches!(
                    self.payment_status(),
                    PaymentStatus::Unpaid | PaymentStatus::Failed
                );
            if !editable {
                return Err(RuleViolation::FieldFrozen {
                    field: "shipping_method",
                    status: self.status(),
                }
                .into());
            }
        }
        if !totals_identity_holds(totals) || totals.total.currency() != self.currency() {
            return Err(ValidationError::NonPositiveTotal.into());
        }
        Ok(vec![OrderEvent::DetailsChanged {
            notes: change
                .notes
                .clone()
                .unwrap_or_else(|| self.notes().cloned()),
            shipping_address: change
                .shipping_address
                .clone()
                .or_else(|| self.shipping_address().cloned()),
            billing_address: change
                .billing_address
                .clone()
                .unwrap_or_else(|| self.billing_address().cloned()),
            shipping_method: change
                .shipping_method
                .clone()
                .or_else(|| self.shipping_method().cloned()),
            totals: *totals,
        }])
    }
}

/// The exact share of `total` paid for units `first .. first + count` of a
/// line of `ordered` units: the line total split per unit by largest
/// remainder, so returning every unit refunds exactly the line total.
fn unit_share(
    total: Money,
    ordered: u32,
    first: u32,
    count: u32,
) -> Result<Money, crate::error::MoneyError> {
    let units = vec![rust_decimal::Decimal::ONE; ordered as usize];
    let parts = allocate(total.minor(), &units);
    let start = first as usize;
    let end = (first + count) as usize;
    let minor: i128 = parts[start.min(parts.len())..end.min(parts.len())]
        .iter()
        .sum();
    Money::from_minor(minor, total.currency())
}
