//! The two ledgers of an order.
//!
//! [`LineQuantities`]: per line, how many units were ordered, cancelled,
//! shipped, delivered and returned; `shipped ≤ ordered − cancelled` and
//! `returned ≤ shipped` hold after every command.
//!
//! [`PaymentLedger`]: append-only entries (authorize, capture, void, refund);
//! authorized, captured and refunded are folds over it, and
//! `captured ≤ authorized`, `refunded ≤ captured` hold after every command.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::MoneyError;
use crate::id::{PaymentEntryId, ReturnId};
use crate::money::{Currency, Money};
use crate::text::{GatewayReference, Reason};

/// The quantity ledger of one line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineQuantities {
    /// Units ordered.
    pub ordered: u32,
    /// Units cancelled before shipping.
    pub cancelled: u32,
    /// Units handed to a carrier (or fulfilled, for digital lines).
    pub shipped: u32,
    /// Units delivered.
    pub delivered: u32,
    /// Units returned and received back.
    pub returned: u32,
    /// Units in open (requested, not yet received) returns.
    pub return_requested: u32,
}

impl LineQuantities {
    /// Units ordered and not cancelled.
    pub fn active(&self) -> u32 {
        self.ordered - self.cancelled
    }

    /// Units that still have to ship.
    pub fn to_ship(&self) -> u32 {
        self.active() - self.shipped
    }

    /// Units that may still be asked back.
    pub fn returnable(&self) -> u32 {
        self.shipped - self.returned - self.return_requested
    }

    /// True when the ledger's invariants hold.
    pub fn is_consistent(&self) -> bool {
        self.cancelled <= self.ordered
            && self.shipped <= self.ordered - self.cancelled
            && self.delivered <= self.shipped
            && self.returned + self.return_requested <= self.shipped
    }
}

/// The kind of a payment ledger entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// Money held on the customer's instrument.
    Authorize,
    /// Money taken.
    Capture,
    /// A hold released.
    Void,
    /// Money given back.
    Refund,
}

impl PaymentKind {
    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Authorize => "authorize",
            Self::Capture => "capture",
            Self::Void => "void",
            Self::Refund => "refund",
        }
    }
}

/// One entry of the payment ledger. Entries are never changed or removed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PaymentEntry {
    /// The entry's id.
    pub id: PaymentEntryId,
    /// What happened.
    pub kind: PaymentKind,
    /// How much.
    pub amount: Money,
    /// The gateway's reference, when a gateway was involved.
    pub reference: Option<GatewayReference>,
    /// The idempotency key the gateway call used (or the inbound event id).
    pub idempotency_key: String,
    /// Why (for voids and refunds).
    pub reason: Option<Reason>,
    /// The return this refund pays out, if any.
    pub return_id: Option<ReturnId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The append-only payment ledger of an order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PaymentLedger {
    currency: Currency,
    entries: Vec<PaymentEntry>,
}

impl PaymentLedger {
    /// An empty ledger in `currency`.
    pub fn new(currency: Currency) -> Self {
        Self {
            currency,
            entries: Vec::new(),
        }
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> &[PaymentEntry] {
        &self.entries
    }

    pub(crate) fn append(&mut self, entry: PaymentEntry) {
        self.entries.push(entry);
    }

    fn total(&self, kind: PaymentKind) -> Money {
        let mut sum = Money::zero(self.currency);
        for entry in self.entries.iter().filter(|e| e.kind == kind) {
            // Entries are checked against the ledger's currency when decided,
            // so this cannot mix currencies; overflow would need 10^26 units.
            sum = sum.checked_add(&entry.amount).unwrap_or(sum);
        }
        sum
    }

    /// Σ authorizations.
    pub fn authorized(&self) -> Money {
        self.total(PaymentKind::Authorize)
    }

    /// Σ voids.
    pub fn voided(&self) -> Money {
        self.total(PaymentKind::Void)
    }

    /// Σ captures.
    pub fn captured(&self) -> Money {
        self.total(PaymentKind::Capture)
    }

    /// Σ refunds.
    pub fn refunded(&self) -> Money {
        self.total(PaymentKind::Refund)
    }

    /// Captured minus refunded: what may still be refunded.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn refundable(&self) -> Result<Money, MoneyError> {
        self.captured().checked_sub(&self.refunded())
    }

    /// Authorized minus voided minus captured: what may still be captured
    /// against open authorizations.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn capturable(&self) -> Result<Money, MoneyError> {
        self.authorized()
            .checked_sub(&self.voided())?
            .checked_sub(&self.captured())
    }

    /// The gateway reference of the latest authorization, which captures and
    /// voids refer to.
    pub fn authorization_reference(&self) -> Option<&GatewayReference> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.kind == PaymentKind::Authorize)
            .and_then(|e| e.reference.as_ref())
    }

    /// The gateway reference of the latest capture, which refunds refer to.
    pub fn capture_reference(&self) -> Option<&GatewayReference> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.kind == PaymentKind::Capture)
            .and_then(|e| e.reference.as_ref())
    }

    /// True when every entry was allowed when it was made: a capture against
    /// an open authorization takes at most what is open (a capture with no
    /// authorization open is a direct sale), a void releases at most what is
    /// open, and refunds never exceed what was captured.
    pub fn is_consistent(&self) -> bool {
        let zero = Money::zero(self.currency).amount();
        let (mut open, mut captured, mut refunded) = (zero, zero, zero);
        for entry in &self.entries {
            let amount = entry.amount.amount();
            if entry.amount.currency() != self.currency || amount < zero {
                return false;
            }
            match entry.kind {
                PaymentKind::Authorize => open += amount,
                PaymentKind::Capture => {
                    if open > zero {
                        if amount > open {
                            return false;
                        }
                        open -= amount;
                    }
                    captured += amount;
                }
                PaymentKind::Void => {
                    if amount > open {
                        return false;
                    }
                    open -= amount;
                }
                PaymentKind::Refund => {
                    refunded += amount;
                    if refunded > captured {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// A ledger rebuilt from stored entries (oldest first); check it with
    /// [`PaymentLedger::is_consistent`] (as `Order::restore` does).
    pub fn restore(currency: Currency, entries: Vec<PaymentEntry>) -> Self {
        Self { currency, entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn entry(kind: PaymentKind, minor: i128) -> PaymentEntry {
        PaymentEntry {
            id: PaymentEntryId::new(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001))
                .unwrap(),
            kind,
            amount: Money::from_minor(minor, Currency::USD).unwrap(),
            reference: None,
            idempotency_key: "k".into(),
            reason: None,
            return_id: None,
            at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn balances_are_folds_over_entries() {
        let mut ledger = PaymentLedger::new(Currency::USD);
        ledger.append(entry(PaymentKind::Authorize, 1000));
        ledger.append(entry(PaymentKind::Capture, 1000));
        ledger.append(entry(PaymentKind::Refund, 300));
        assert_eq!(ledger.refundable().unwrap().minor(), 700);
        assert_eq!(ledger.capturable().unwrap().minor(), 0);
        assert!(ledger.is_consistent());
    }

    #[test]
    fn a_refund_above_the_capture_is_inconsistent() {
        let mut ledger = PaymentLedger::new(Currency::USD);
        ledger.append(entry(PaymentKind::Capture, 100));
        ledger.append(entry(PaymentKind::Refund, 101));
        assert!(!ledger.is_consistent());
    }

    #[test]
    fn a_direct_capture_after_a_void_is_consistent() {
        let mut ledger = PaymentLedger::new(Currency::USD);
        ledger.append(entry(PaymentKind::Authorize, 3119));
        ledger.append(entry(PaymentKind::Void, 3119));
        ledger.append(entry(PaymentKind::Capture, 5318));
        assert!(ledger.is_consistent());
    }

    #[test]
    fn capturing_more_than_is_open_is_inconsistent() {
        let mut ledger = PaymentLedger::new(Currency::USD);
        ledger.append(entry(PaymentKind::Authorize, 100));
        ledger.append(entry(PaymentKind::Capture, 101));
        assert!(!ledger.is_consistent());
    }

    #[test]
    fn line_invariants() {
        let q = LineQuantities {
            ordered: 3,
            shipped: 2,
            returned: 1,
            ..LineQuantities::default()
        };
        assert!(q.is_consistent());
        assert_eq!(q.to_ship(), 1);
        assert_eq!(q.returnable(), 1);
    }
}
