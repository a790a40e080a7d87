//! The proto's messages and the engine's values, both ways. Requests are
//! parsed into domain values once, each error naming the proto's field
//! (`items[1].quantity`, `shipping_address.country`); orders are rendered
//! into the proto's `Order`.
//!
//! Money: the proto carries amounts as `double`. The engine keeps exact
//! decimals in the currency's minor unit; an amount becomes a `double` here,
//! on the way out, and nowhere else — no `double` ever enters the engine
//! (the proto's requests carry none: prices come from the catalog). The
//! nearest `double` to an amount below 10^12, rounded to the currency's
//! minor unit (up to three decimals), gives the exact amount back; above
//! that, up to the engine's bound of 10^14 (ADR 0006), the last minor unit
//! may differ.

use chrono::{DateTime, Utc};
use order_core::{
    Address, AddressInput, CouponCode, Currency, CustomerId, LineEdit, Money, NewLine, Notes,
    Order, OrderLine, PaymentMethod, PlaceOrder, ProductId, Quantity, ShippingMethod,
    ValidationError, VariantId,
};
use rust_decimal::prelude::ToPrimitive as _;

use crate::error::GrpcError;
use crate::proto;

/// The proto's spelling of an engine status name: `partially_shipped` is
/// `PARTIALLY_SHIPPED`, as the Go plan writes `PENDING` and `CONFIRMED`.
pub(crate) fn status_name(engine: &str) -> String {
    engine.to_ascii_uppercase()
}

/// An amount as the proto's `double`: the edge where exact money leaves.
fn amount(money: &Money) -> f64 {
    money.amount().to_f64().unwrap_or_default()
}

fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        // Below 2·10⁹ even in a leap second, so it always fits.
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(999_999_999),
    }
}

/// Text the proto3 default (empty) leaves unset.
fn given(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// A quantity from the proto's `int32`, its error under `prefix` (none when
/// empty).
pub(crate) fn quantity(prefix: &str, raw: i32) -> Result<Quantity, GrpcError> {
    let parsed = match u32::try_from(raw) {
        Ok(n) => Quantity::new(n),
        Err(_) => Err(ValidationError::OutOfRange {
            field: "quantity".into(),
            value: i64::from(raw),
            min: 1,
            max: i64::from(Quantity::MAX),
        }),
    };
    Ok(parsed.map_err(|e| if prefix.is_empty() { e } else { e.at(prefix) })?)
}

/// Parses an id, naming `field` when it is not one.
pub(crate) fn id<T>(
    field: &str,
    raw: &str,
    parse: impl Fn(&str) -> Result<T, ValidationError>,
) -> Result<T, GrpcError> {
    parse(raw.trim()).map_err(|err| GrpcError::Invalid {
        field: field.to_owned(),
        detail: err.to_string(),
    })
}

/// An item of a new order, its errors under `prefix`.
fn new_line(prefix: &str, item: &proto::OrderItemInput) -> Result<NewLine, GrpcError> {
    Ok(NewLine {
        product_id: id(
            &format!("{prefix}.product_id"),
            &item.product_id,
            str::parse::<ProductId>,
        )?,
        variant_id: item
            .variant_id
            .as_deref()
            .and_then(given)
            .map(|v| id(&format!("{prefix}.variant_id"), v, str::parse::<VariantId>))
            .transpose()?,
        quantity: quantity(prefix, item.quantity)?,
        // The proto carries no price: the catalog's is the price.
        expected_unit_price: None,
    })
}

/// An item to add to an order, its errors under `prefix`.
pub(crate) fn item_input(
    prefix: &str,
    item: &proto::OrderItemInput,
) -> Result<LineEdit, GrpcError> {
    let line = new_line(prefix, item)?;
    Ok(LineEdit::Add {
        product_id: line.product_id,
        variant_id: line.variant_id,
        quantity: line.quantity,
    })
}

/// The two slots an order has for addresses.
#[derive(Clone, Copy)]
enum AddressType {
    Shipping,
    Billing,
}

impl AddressType {
    fn name(self) -> &'static str {
        match self {
            Self::Shipping => "SHIPPING",
            Self::Billing => "BILLING",
        }
    }

    fn field(self) -> &'static str {
        match self {
            Self::Shipping => "shipping_address",
            Self::Billing => "billing_address",
        }
    }
}

fn address_input(slot: AddressType, raw: &proto::OrderAddressInput) -> Result<Address, GrpcError> {
    let field = slot.field();
    if let Some(kind) = given(&raw.address_type)
        && !kind.eq_ignore_ascii_case(slot.name())
    {
        return Err(GrpcError::Invalid {
            field: format!("{field}.address_type"),
            detail: format!("must be {} (or empty) in {field}", slot.name()),
        });
    }
    let parsed = Address::parse(AddressInput {
        // The engine joins the first and last names into the name.
        name: String::new(),
        first_name: given(&raw.first_name).map(str::to_owned),
        last_name: given(&raw.last_name).map(str::to_owned),
        line1: raw.address_line1.clone(),
        line2: raw.address_line2.clone(),
        city: raw.city.clone(),
        region: given(&raw.state).map(str::to_owned),
        postal_code: raw.postal_code.clone(),
        country: raw.country.clone(),
        phone: raw.phone.clone(),
        email: raw.email.clone(),
    });
    Ok(parsed.map_err(|e| e.at(field))?)
}

/// The placement `request` asks for, by `customer`, priced in `currency`.
pub(crate) fn place_order(
    request: &proto::CreateOrderRequest,
    customer: CustomerId,
    currency: Currency,
) -> Result<PlaceOrder, GrpcError> {
    let lines = request
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| new_line(&format!("items[{index}]"), item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PlaceOrder {
        customer_id: customer,
        currency,
        lines,
        shipping_address: request
            .shipping_address
            .as_ref()
            .map(|a| address_input(AddressType::Shipping, a))
            .transpose()?,
        billing_address: request
            .billing_address
            .as_ref()
            .map(|a| address_input(AddressType::Billing, a))
            .transpose()?,
        shipping_method: given(&request.shipping_method)
            .map(ShippingMethod::parse)
            .transpose()?,
        payment_method: given(&request.payment_method)
            .map(PaymentMethod::parse)
            .transpose()?,
        coupon: request
            .coupon_code
            .as_deref()
            .and_then(given)
            .map(CouponCode::parse)
            .transpose()?,
        notes: request
            .notes
            .as_deref()
            .and_then(given)
            .map(Notes::parse)
            .transpose()?,
    })
}

fn address_message(order: &Order, slot: AddressType, a: &Address) -> proto::OrderAddress {
    // An address given with one name (over HTTP) shows it whole as the
    // first name.
    let (first_name, last_name) = match (a.first_name(), a.last_name()) {
        (None, None) => (a.name(), ""),
        (first, last) => (first.unwrap_or_default(), last.unwrap_or_default()),
    };
    proto::OrderAddress {
        // An address is part of its order and has no id of its own.
        id: String::new(),
        order_id: order.id().to_string(),
        address_type: slot.name().to_owned(),
        first_name: first_name.to_owned(),
        last_name: last_name.to_owned(),
        address_line1: a.line1().to_owned(),
        address_line2: a.line2().map(str::to_owned),
        city: a.city().to_owned(),
        state: a.region().unwrap_or_default().to_owned(),
        postal_code: a.postal_code().to_owned(),
        country: a.country().as_str().to_owned(),
        phone: a.phone().map(str::to_owned),
        email: a.email().map(str::to_owned),
    }
}

fn item_message(order: &Order, line: &OrderLine) -> proto::OrderItem {
    proto::OrderItem {
        id: line.id.to_string(),
        order_id: order.id().to_string(),
        product_id: line.product_id.to_string(),
        variant_id: line.variant_id.map(|v| v.to_string()),
        sku: line.sku.to_string(),
        name: line.name.to_string(),
        // At most Quantity::MAX, so it fits.
        quantity: i32::try_from(line.quantity.get()).unwrap_or(i32::MAX),
        unit_price: amount(&line.unit_price),
        subtotal: amount(&line.amounts.subtotal),
        discount_amount: amount(&line.amounts.discount),
        // Lines keep no times of their own: they are the order's.
        created_at: Some(timestamp(order.created_at())),
        updated_at: Some(timestamp(order.updated_at())),
    }
}

/// The proto's `Order` for `order`.
pub(crate) fn order_message(order: &Order) -> proto::Order {
    let totals = order.totals();
    let addresses = [
        (AddressType::Shipping, order.shipping_address()),
        (AddressType::Billing, order.billing_address()),
    ]
    .into_iter()
    .filter_map(|(slot, a)| a.map(|a| address_message(order, slot, a)))
    .collect();
    proto::Order {
        id: order.id().to_string(),
        user_id: order.customer_id().to_string(),
        order_number: order.number().to_string(),
        status: status_name(order.status().as_str()),
        total_amount: amount(&totals.total),
        subtotal: amount(&totals.subtotal),
        tax_amount: amount(&totals.tax),
        shipping_amount: amount(&totals.shipping),
        discount_amount: amount(&totals.discount),
        currency: order.currency().to_string(),
        payment_method: order
            .payment_method()
            .map(ToString::to_string)
            .unwrap_or_default(),
        payment_status: status_name(order.payment_status().as_str()),
        shipping_method: order
            .shipping_method()
            .map(ToString::to_string)
            .unwrap_or_default(),
        notes: order.notes().map(ToString::to_string).unwrap_or_default(),
        created_at: Some(timestamp(order.created_at())),
        updated_at: Some(timestamp(order.updated_at())),
        completed_at: order.completed_at().map(timestamp),
        cancelled_at: order.cancelled_at().map(timestamp),
        items: order
            .lines()
            .iter()
            .map(|l| item_message(order, l))
            .collect(),
        addresses,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use rust_decimal::prelude::FromPrimitive as _;

    use super::*;

    #[test]
    fn an_amount_below_a_trillion_comes_back_exact_from_its_double() {
        for (text, code) in [
            ("19.99", "USD"),
            ("0.01", "USD"),
            ("0.10", "EUR"),
            ("999999999999.99", "USD"),
            ("999999999999.999", "KWD"),
            ("123456789012", "JPY"),
        ] {
            let currency = Currency::parse(code).unwrap();
            let money = Money::parse(text, currency).unwrap();
            let double = amount(&money);
            let back = Decimal::from_f64(double)
                .unwrap()
                .round_dp(currency.minor_units());
            assert_eq!(back, money.amount(), "{text} {code} became {double}");
        }
    }

    #[test]
    fn a_negative_quantity_is_out_of_range_under_its_prefix() {
        let err = quantity("items[2]", -3).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(
            err.to_string()
                .starts_with("items[2].quantity: must be between 1 and 10000"),
            "{err}"
        );
    }
}
