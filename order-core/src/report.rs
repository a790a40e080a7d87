//! Reports over orders placed in a period: counts by status, revenue and
//! average order value per currency, payment failure rate, and time to
//! fulfilment. The definitions live here, once: what one order adds to the
//! sums of its group ([`FigureGroup::add`], the reference a store's
//! [`OrderFigures`](crate::ports::OrderFigures) must equal), and how the
//! sums make a [`Report`] ([`Report::of`]). Stores only add up.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use crate::error::MoneyError;
use crate::ledger::PaymentKind;
use crate::money::{Currency, Money, RoundingMode};
use crate::order::Order;
use crate::ports::FigureGroup;
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

impl Report {
    /// The report for `[from, to)` from the sums of its orders' groups
    /// (any order, several per status and currency allowed): counts and sums
    /// added up, then the derived figures — average order value rounded
    /// half-even to the minor unit, failure rate to four places, mean time
    /// to fulfilment.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] on absurd totals.
    pub fn of(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        groups: impl IntoIterator<Item = FigureGroup>,
    ) -> Result<Self, MoneyError> {
        let mut r = Self::new(from, to);
        let mut fulfilment_total = Duration::zero();
        let mut fulfilled = 0_u64;
        for g in groups {
            if g.orders == 0 {
                continue;
            }
            r.orders += g.orders;
            *r.by_status.entry(g.status).or_default() += g.orders;
            r.payment_attempts += g.payment_attempts;
            r.failed_payment_attempts += g.failed_payment_attempts;
            if g.paid_orders > 0 {
                let figures = r
                    .currencies
                    .entry(g.currency)
                    .or_insert_with(|| CurrencyFigures::zero(g.currency));
                figures.paid_orders += g.paid_orders;
                figures.gross_sales = figures.gross_sales.checked_add(&g.paid_total)?;
                figures.refunded = figures.refunded.checked_add(&g.refunded)?;
                figures.revenue = figures
                    .revenue
                    .checked_add(&g.captured.checked_sub(&g.refunded)?)?;
            }
            fulfilment_total += g.fulfilment_time;
            fulfilled += g.fulfilled;
        }
        for figures in r.currencies.values_mut() {
            let currency = figures.gross_sales.currency();
            let average = figures.gross_sales.amount() / Decimal::from(figures.paid_orders.max(1));
            figures.average_order_value = Money::round(average, currency, RoundingMode::HalfEven);
        }
        if r.payment_attempts > 0 {
            r.payment_failure_rate = (Decimal::from(r.failed_payment_attempts)
                / Decimal::from(r.payment_attempts))
            .round_dp(4);
        }
        r.average_time_to_fulfilment = mean(fulfilment_total, fulfilled);
        Ok(r)
    }
}

/// `total / count`, to the nanosecond (truncated); `None` for no count.
fn mean(total: Duration, count: u64) -> Option<Duration> {
    if count == 0 {
        return None;
    }
    let nanos = i128::from(total.num_seconds()) * 1_000_000_000 + i128::from(total.subsec_nanos());
    i64::try_from(nanos / i128::from(count))
        .ok()
        .map(Duration::nanoseconds)
}

/// The payment attempts of `order` that failed: its attempts, less one that
/// succeeded (it authorized or captured money) and less one still in flight
/// (its payment is pending), and never below zero.
pub fn failed_payment_attempts(order: &Order) -> u32 {
    let succeeded = order
        .payments()
        .entries()
        .iter()
        .any(|e| matches!(e.kind, PaymentKind::Authorize | PaymentKind::Capture));
    let in_flight = order.payment_status() == PaymentStatus::Pending;
    order
        .payment_attempts()
        .saturating_sub(u32::from(succeeded) + u32::from(in_flight))
}

impl FigureGroup {
    /// The empty group of orders in `status` and `currency`.
    pub fn empty(status: OrderStatus, currency: Currency) -> Self {
        let zero = Money::zero(currency);
        Self {
            status,
            currency,
            orders: 0,
            paid_orders: 0,
            paid_total: zero,
            captured: zero,
            refunded: zero,
            payment_attempts: 0,
            failed_payment_attempts: 0,
            fulfilled: 0,
            fulfilment_time: Duration::zero(),
        }
    }

    /// Adds `order`, of this group's status and currency: what each sum
    /// means, once.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] on absurd totals;
    /// [`MoneyError::CurrencyMismatch`] for an order of another currency.
    pub fn add(&mut self, order: &Order) -> Result<(), MoneyError> {
        self.orders += 1;
        self.payment_attempts += u64::from(order.payment_attempts());
        self.failed_payment_attempts += u64::from(failed_payment_attempts(order));
        let captured = order.payments().captured();
        if !captured.is_zero() {
            self.paid_orders += 1;
            self.paid_total = self.paid_total.checked_add(&order.totals().total)?;
            self.captured = self.captured.checked_add(&captured)?;
            self.refunded = self.refunded.checked_add(&order.payments().refunded())?;
        }
        if let (Some(confirmed), Some(delivered)) = (order.confirmed_at(), order.delivered_at()) {
            self.fulfilled += 1;
            self.fulfilment_time += delivered - confirmed;
        }
        Ok(())
    }

    /// `orders` summed per status and currency, by [`FigureGroup::add`]:
    /// the reference a store's sums must equal, and how a store that cannot
    /// add up in its query language sums.
    ///
    /// # Errors
    /// As [`FigureGroup::add`].
    pub fn fold<'a>(orders: impl IntoIterator<Item = &'a Order>) -> Result<Vec<Self>, MoneyError> {
        let mut groups: BTreeMap<(OrderStatus, Currency), Self> = BTreeMap::new();
        for order in orders {
            groups
                .entry((order.status(), order.currency()))
                .or_insert_with(|| Self::empty(order.status(), order.currency()))
                .add(order)?;
        }
        Ok(groups.into_values().collect())
    }
}
