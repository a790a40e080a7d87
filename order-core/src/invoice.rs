//! [`Invoice`]: what an order bills and where its money stands, derived from
//! the order alone. An order has a final invoice once it is confirmed (paid
//! or authorized in full), issued at its confirmation; before that the
//! invoice is pro forma (no issue date). Money on it comes from the payment
//! ledger: paid is what was captured, refunded what went back, and due what
//! the customer still owes.

use chrono::{DateTime, Utc};

use crate::address::Address;
use crate::error::MoneyError;
use crate::id::OrderId;
use crate::money::{Currency, Money};
use crate::order::{Order, OrderLine};
use crate::order_number::OrderNumber;
use crate::pricing::Totals;
use crate::status::OrderStatus;

/// An order's invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoice {
    /// The invoice number: the order's number.
    pub number: OrderNumber,
    /// The order.
    pub order_id: OrderId,
    /// When the invoice was issued: the order's confirmation; `None` for a
    /// pro-forma invoice of an order not confirmed yet.
    pub issued_at: Option<DateTime<Utc>>,
    /// Who is billed: the billing address, else the shipping address.
    pub bill_to: Option<Address>,
    /// The currency of every amount.
    pub currency: Currency,
    /// The lines billed.
    pub lines: Vec<OrderLine>,
    /// The order's totals.
    pub totals: Totals,
    /// Captured.
    pub paid: Money,
    /// Refunded out of what was captured.
    pub refunded: Money,
    /// Paid minus refunded: what the merchant keeps.
    pub net_paid: Money,
    /// What the customer still owes: the total minus what was captured,
    /// and nothing once the order is cancelled.
    pub due: Money,
}

impl Invoice {
    /// The invoice of `order`.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] on absurd amounts.
    pub fn of(order: &Order) -> Result<Self, MoneyError> {
        let payments = order.payments();
        let paid = payments.captured();
        let refunded = payments.refunded();
        let due = if order.status() == OrderStatus::Cancelled {
            Money::zero(order.currency())
        } else {
            order.amount_due()
        };
        Ok(Self {
            number: order.number().clone(),
            order_id: order.id(),
            issued_at: order.confirmed_at(),
            bill_to: order
                .billing_address()
                .or(order.shipping_address())
                .cloned(),
            currency: order.currency(),
            lines: order.lines().to_vec(),
            totals: *order.totals(),
            paid,
            refunded,
            net_paid: paid.checked_sub(&refunded)?,
            due,
        })
    }
}
