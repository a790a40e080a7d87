//! Reports over orders placed in a period: counts by status, revenue and
//! average order value per currency, payment failure rate, and time to
//! fulfilment. The definitions live here, once; stores only list orders.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use crate::error::MoneyError;
use crate::ledger::PaymentKind;
use crate::money::{Currency, Money};
use crate::order::Order;
use crate::status::{OrderStatus, PaymentStatus};

/// Figures in one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrencyFigures {
    /// Orders that took money (captured anything).
    pub paid_orders: u64,
    /// Σ the totals of the paid orders: what was sold.
    pub gross_sales: Money,
    /// Σ refunds on those orders.
    pub refunded: Money,
    /// Captured minus refunded: what the merchant keeps.
    pub revenue: Money,
    /// Gross sales per paid order (the usual definition: what an order is
    /// worth when it is placed, whatever happens to it later), rounded
    /// half-even to the minor unit.
    pub average_order_value: Money,
}

impl CurrencyFigures {
    fn zero(currency: Currency) -> Self {
        let zero = Money::zero(currency);
        Self {
            paid_orders: 0,
            gross_sales: zero,
            refunded: zero,
            revenue: zero,
            average_order_value: zero,
        }
    }
}

/// What happened to the orders placed in `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (exclusive).
    pub to: DateTime<Utc>,
    /// Orders placed.
    pub orders: u64,
    /// Orders per current status.
    pub by_status: BTreeMap<OrderStatus, u64>,
    /// Money per currency.
    pub currencies: BTreeMap<Currency, CurrencyFigures>,
    /// Payment attempts made.
    pub payment_attempts: u64,
    /// Attempts that failed.
    pub failed_payment_attempts: u64,
    /// Failed attempts per attempt (0 when there were none).
    pub payment_failure_rate: Decimal,
    /// Mean time from confirmation to delivery, over delivered orders.
    pub average_time_to_fulfilment: Option<Duration>,
}

impl Report {
    /// An empty report for `[from, to)`.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self {
            from,
            to,
            orders: 0,
            by_status: BTreeMap::new(),
            currencies: BTreeMap::new(),
            payment_attempts: 0,
            failed_payment_attempts: 0,
            payment_failure_rate: Decimal::ZERO,
            average_time_to_fulfilment: None,
        }
    }
}

/// Folds orders into a report; call [`ReportBuilder::finish`] at the end.
#[derive(Debug)]
pub struct ReportBuilder {
    report: Report,
    fulfilment_total: Duration,
    fulfilled: i32,
}

impl ReportBuilder {
    /// Starts a report for `[from, to)`.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self {
            report: Report::new(from, to),
            fulfilment_total: Duration::zero(),
            fulfilled: 0,
        }
    }

    /// Adds one order placed in the period.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] on absurd totals.
    pub fn add(&mut self, order: &Order) -> Result<(), MoneyError> {
        let r = &mut self.report;
        r.orders += 1;
        *r.by_status.entry(order.status()).or_default() += 1;

        let attempts = u64::from(order.payment_attempts());
        let succeeded = order
            .payments()
            .entries()
            .iter()
            .any(|e| matches!(e.kind, PaymentKind::Authorize | PaymentKind::Capture));
        let in_flight = order.payment_status() == PaymentStatus::Pending;
        r.payment_attempts += attempts;
        r.failed_payment_attempts +=
            attempts.saturating_sub(u64::from(succeeded) + u64::from(in_flight));

        let captured = order.payments().captured();
        if !captured.is_zero() {
            let refunded = order.payments().refunded();
            let figures = r
                .currencies
                .entry(order.currency())
                .or_insert_with(|| CurrencyFigures::zero(order.currency()));
            figures.paid_orders += 1;
            figures.gross_sales = figures.gross_sales.checked_add(&order.totals().total)?;
            figures.refunded = figures.refunded.checked_add(&refunded)?;
            figures.revenue = figures
                .revenue
                .checked_add(&captured.checked_sub(&refunded)?)?;
        }
        if let (Some(confirmed), Some(delivered)) = (order.confirmed_at(), order.delivered_at()) {
            self.fulfilment_total += delivered - confirmed;
            self.fulfilled += 1;
        }
        Ok(())
    }

    /// The report.
    pub fn finish(mut self) -> Report {
        let r = &mut self.report;
        for figures in r.currencies.values_mut() {
            let currency = figures.gross_sales.currency();
            let average = figures.gross_sales.amount() / Decimal::from(figures.paid_orders.max(1));
            figures.average_order_value =
                Money::round(average, currency, crate::money::RoundingMode::HalfEven);
        }
        if r.payment_attempts > 0 {
            r.payment_failure_rate = (Decimal::from(r.failed_payment_attempts)
                / Decimal::from(r.payment_attempts))
            .round_dp(4);
        }
        if self.fulfilled > 0 {
            r.average_time_to_fulfilment = Some(self.fulfilment_total / self.fulfilled);
        }
        self.report
    }
}
