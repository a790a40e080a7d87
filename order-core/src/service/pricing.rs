//! Pricing an order's lines through the tax and shipping policy ports, and
//! looking products up in the catalog: what placement, line edits and detail
//! changes share.

use super::OrderService;
use crate::address::Address;
use crate::error::{OrderError, PolicyError, PortError, RuleViolation, ValidationError};
use crate::id::LineId;
use crate::money::{Currency, Money};
use crate::order::{OrderLine, ProductKind};
use crate::ports::{Product, ProductKey};
use crate::pricing::{Discount, PriceLine, PricingPolicy, Totals, price_lines};
use crate::quantity::Quantity;
use crate::retry::with_retry;
use crate::text::ShippingMethod;

/// A line before pricing.
pub(super) struct LineDraft {
    pub(super) id: LineId,
    pub(super) product: Product,
    pub(super) quantity: Quantity,
}

impl LineDraft {
    /// A draft that keeps an existing line's product facts and price.
    pub(super) fn from_line(line: &OrderLine, quantity: Quantity) -> Self {
        Self {
            id: line.id,
            product: Product {
                product_id: line.product_id,
                variant_id: line.variant_id,
                sku: line.sku.clone(),
                name: line.name.clone(),
                unit_price: line.unit_price,
                tax_class: line.tax_class.clone(),
                kind: line.kind,
                active: true,
            },
            quantity,
        }
    }
}

/// The catalog's product for line `index`, if it may be sold in
/// `currency`.
///
/// # Errors
/// [`RuleViolation::UnknownProduct`], [`RuleViolation::ProductInactive`],
/// [`ValidationError::MixedCurrencies`], and [`ValidationError::Money`]
/// naming `lines[index].unit_price` when the catalog's price breaks the
/// bounds of [`Product::check`] (zero, negative, or too large).
pub(super) fn sellable(
    products: &[Product],
    index: usize,
    key: ProductKey,
    currency: Currency,
) -> Result<&Product, OrderError> {
    let product = products
        .iter()
        .find(|p| p.product_id == key.product_id && p.variant_id == key.variant_id)
        .ok_or(RuleViolation::UnknownProduct {
            index,
            product_id: key.product_id,
            variant_id: key.variant_id,
        })?;
    if !product.active {
        return Err(RuleViolation::ProductInactive {
            index,
            sku: product.sku.clone(),
        }
        .into());
    }
    if product.unit_price.currency() != currency {
        return Err(ValidationError::MixedCurrencies {
            index,
            expected: currency,
            found: product.unit_price.currency(),
        }
        .into());
    }
    product
        .check()
        .map_err(|err| err.at(&format!("lines[{index}]")))?;
    Ok(product)
}

impl OrderService {
    pub(super) fn policy_error(
        err: PolicyError,
        refused: fn(String) -> RuleViolation,
        port: &'static str,
    ) -> OrderError {
        match err {
            PolicyError::Refused(reason) => refused(reason).into(),
            PolicyError::Port(source) => OrderError::Unavailable { port, source },
        }
    }

    pub(super) async fn lookup_products(
        &self,
        keys: &[ProductKey],
    ) -> Result<Vec<Product>, OrderError> {
        let catalog = &self.ports.catalog;
        with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            catalog.products(keys)
        })
        .await
        .map_err(|source| OrderError::Unavailable {
            port: "catalog",
            source,
        })
    }

    /// Prices drafts into order lines and totals.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn price(
        &self,
        currency: Currency,
        drafts: &[LineDraft],
        discount: Option<&Discount>,
        shipping_address: Option<&Address>,
        billing_address: Option<&Address>,
        shipping_method: Option<&ShippingMethod>,
        policy: &PricingPolicy,
        existing: &[OrderLine],
    ) -> Result<(Vec<OrderLine>, Totals), OrderError> {
        let classes: Vec<_> = drafts.iter().map(|d| d.product.tax_class.clone()).collect();
        let destination = shipping_address.or(billing_address);
        let tax = &self.ports.tax;
        let rates = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            tax.rates(destination, &classes)
        })
        .await
        .map_err(|e| {
            Self::policy_error(
                e,
                |reason| RuleViolation::TaxUnavailable { reason },
                "tax policy",
            )
        })?;
        if rates.len() != drafts.len() {
            return Err(OrderError::Unavailable {
                port: "tax policy",
                source: PortError::Unavailable("answered the wrong number of rates".into()),
            });
        }
        let price_input: Vec<PriceLine> = drafts
            .iter()
            .zip(&rates)
            .map(|(d, rate)| PriceLine {
                unit_price: d.product.unit_price,
                quantity: d.quantity,
                tax_rate: *rate,
                discountable: discount.is_some_and(|disc| disc.applies_to(d.product.product_id)),
            })
            .collect();
        let priced = price_lines(currency, &price_input, discount.map(|d| &d.value), policy)?;
        // Every amount the order keeps must fit every store (ADR 0006).
        priced.check_bounds()?;
        let needs_shipping = drafts
            .iter()
            .any(|d| d.product.kind == ProductKind::Physical);
        let shipping = match (needs_shipping, shipping_method, shipping_address) {
            (false, _, _) => Money::zero(currency),
            (true, Some(method), Some(address)) => {
                let merchandise = priced.merchandise()?;
                let policy = &self.ports.shipping;
                with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
                    policy.quote(method, address, merchandise)
                })
                .await
                .map_err(|e| {
                    Self::policy_error(
                        e,
                        |reason| RuleViolation::ShippingUnavailable { reason },
                        "shipping policy",
                    )
                })?
            }
            (true, None, _) => return Err(ValidationError::ShippingMethodRequired.into()),
            (true, Some(_), None) => return Err(ValidationError::ShippingAddressRequired.into()),
        };
        let totals = priced.with_shipping(shipping)?;
        totals.check_bounds()?;
        let lines = drafts
            .iter()
            .zip(rates)
            .zip(priced.lines)
            .map(|((d, tax_rate), amounts)| {
                let quantities = existing
                    .iter()
                    .find(|l| l.id == d.id)
                    .map(|l| l.quantities)
                    .unwrap_or_default();
                OrderLine {
                    id: d.id,
                    product_id: d.product.product_id,
                    variant_id: d.product.variant_id,
                    sku: d.product.sku.clone(),
                    name: d.product.name.clone(),
                    kind: d.product.kind,
                    tax_class: d.product.tax_class.clone(),
                    tax_rate,
                    quantity: d.quantity,
                    unit_price: d.product.unit_price,
                    amounts,
                    quantities: crate::ledger::LineQuantities {
                        ordered: d.quantity.get(),
                        ..quantities
                    },
                }
            })
            .collect();
        Ok((lines, totals))
    }
}
