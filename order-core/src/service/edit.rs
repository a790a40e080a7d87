//! Changing a pending order: its lines (re-priced, stock adjusted) and its
//! details (notes, addresses, shipping method).

use super::pricing::{LineDraft, sellable};
use super::{Extras, LineEdit, OrderService};
use crate::command::{Command, DetailsChange};
use crate::error::{OrderError, RuleViolation, ValidationError};
use crate::id::{LineId, OrderId};
use crate::order::{Order, Reservation};
use crate::ports::ProductKey;
use crate::quantity::Quantity;
use crate::scope::Scope;
use crate::status::{OrderStatus, PaymentStatus};
use crate::text::Actor;

impl OrderService {
    // ---- edits --------------------------------------------------------------

    /// Adds, changes or removes lines of a pending, unpaid order: re-prices it
    /// with the order's own pricing rules and discount, and adjusts the stock
    /// reservation to the new quantities.
    ///
    /// # Errors
    /// [`OrderError::Transition`] unless pending with no payment in flight;
    /// [`OrderError::OutOfStock`]; [`OrderError::VersionConflict`] when
    /// `expected_version` is stale; rule errors for unknown lines or products.
    pub async fn edit_lines(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        edits: &[LineEdit],
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        self.decide_on(
            id,
            Scope::All,
            expected_version,
            |_| false,
            |before| self.edit_lines_from(before, edits, actor),
        )
        .await
    }

    /// [`OrderService::edit_lines`] from `before`.
    async fn edit_lines_from(
        &self,
        before: Order,
        edits: &[LineEdit],
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let id = before.id();
        // Refuse early, before any port is called, when editing is not allowed.
        before.decide(
            &Command::ChangeLines {
                lines: before.lines().to_vec(),
                totals: *before.totals(),
                reservation_expires_at: None,
            },
            self.now(),
        )?;

        let mut wanted: Vec<(Option<LineId>, ProductKey, Quantity)> = before
            .lines()
            .iter()
            .map(|l| {
                (
                    Some(l.id),
                    ProductKey {
                        product_id: l.product_id,
                        variant_id: l.variant_id,
                    },
                    l.quantity,
                )
            })
            .collect();
        for edit in edits {
            match edit {
                LineEdit::Add {
                    product_id,
                    variant_id,
                    quantity,
                } => {
                    let key = ProductKey {
                        product_id: *product_id,
                        variant_id: *variant_id,
                    };
                    match wanted.iter_mut().find(|(_, k, _)| *k == key) {
                        Some((_, _, q)) => *q = Quantity::new(q.get() + quantity.get())?,
                        None => wanted.push((None, key, *quantity)),
                    }
                }
                LineEdit::SetQuantity { line_id, quantity } => {
                    let slot = wanted
                        .iter_mut()
                        .find(|(l, _, _)| *l == Some(*line_id))
                        .ok_or(RuleViolation::UnknownLine(*line_id))?;
                    slot.2 = *quantity;
                }
                LineEdit::Remove { line_id } => {
                    let index = wanted
                        .iter()
                        .position(|(l, _, _)| *l == Some(*line_id))
                        .ok_or(RuleViolation::UnknownLine(*line_id))?;
                    wanted.remove(index);
                }
            }
        }
        if wanted.is_empty() {
            return Err(RuleViolation::LastLine.into());
        }
        if wanted.len() > self.config.max_lines {
            return Err(ValidationError::TooManyLines {
                max: self.config.max_lines,
                len: wanted.len(),
            }
            .into());
        }

        // Existing lines keep the price they were sold at; new lines take
        // the catalog's current price.
        let new_keys: Vec<ProductKey> = wanted
            .iter()
            .filter(|(l, _, _)| l.is_none())
            .map(|(_, k, _)| *k)
            .collect();
        let products = if new_keys.is_empty() {
            Vec::new()
        } else {
            self.lookup_products(&new_keys).await?
        };
        let mut drafts = Vec::with_capacity(wanted.len());
        for (index, (line_id, key, quantity)) in wanted.into_iter().enumerate() {
            let draft = match line_id.and_then(|id| before.line(id)) {
                Some(line) => LineDraft::from_line(line, quantity),
                None => {
                    let product = sellable(&products, index, key, before.currency())?;
                    LineDraft {
                        id: self.mint(LineId::new)?,
                        product: product.clone(),
                        quantity,
                    }
                }
            };
            drafts.push(draft);
        }
        let (lines, totals) = self
            .price(
                before.currency(),
                &drafts,
                before.discount(),
                before.shipping_address(),
                before.billing_address(),
                before.shipping_method(),
                before.pricing(),
                before.lines(),
            )
            .await?;
        let now = self.now();
        // Stock is held only while the order holds it; after a failed
        // payment the retry reserves again.
        let (hold, until) = match before.reservation() {
            Reservation::Held(_) => {
                let until = now + self.config.pending_ttl;
                let items = Self::stock_items(lines.iter().map(|l| (&l.sku, l.quantity.get())));
                (Some(self.hold(id, items, until).await?), Some(until))
            }
            Reservation::Committed | Reservation::Released | Reservation::Restocked => (None, None),
        };
        let held = hold.is_some();
        let command = Command::ChangeLines {
            lines,
            totals,
            reservation_expires_at: until,
        };
        let committed = match before.decide(&command, now) {
            Ok(events) => {
                self.commit(
                    &before,
                    events,
                    actor,
                    now,
                    Extras {
                        stock: hold,
                        ..Extras::default()
                    },
                )
                .await
            }
            Err(err) => Err(err),
        };
        if committed.is_err() && held {
            self.align_stock(id).await;
        }
        committed
    }

    /// Changes notes, addresses or the shipping method. While the order is
    /// pending and unpaid it is re-priced (tax follows the destination,
    /// shipping the method); afterwards only changes that keep the price are
    /// allowed.
    ///
    /// # Errors
    /// [`OrderError::Transition`] after shipping; [`RuleViolation::FieldFrozen`]
    /// for a price-changing edit of a paid order; validation errors.
    pub async fn update_details(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        change: DetailsChange,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        self.decide_on(
            id,
            Scope::All,
            expected_version,
            |_| false,
            |before| self.update_details_from(before, change.clone(), actor),
        )
        .await
    }

    /// [`OrderService::update_details`] from `before`.
    async fn update_details_from(
        &self,
        before: Order,
        change: DetailsChange,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        if before.needs_shipping()
            && change.shipping_address.is_none()
            && before.shipping_address().is_none()
        {
            return Err(ValidationError::ShippingAddressRequired.into());
        }
        let editable = before.status() == OrderStatus::Pending
            && matches!(
                before.payment_status(),
                PaymentStatus::Unpaid | PaymentStatus::Failed
            );
        let touches_price = change.shipping_address.is_some()
            || change.billing_address.is_some()
            || change.shipping_method.is_some();
        let totals = if touches_price {
            let drafts: Vec<LineDraft> = before
                .lines()
                .iter()
                .map(|line| LineDraft::from_line(line, line.quantity))
                .collect();
            let shipping_address = change
                .shipping_address
                .as_ref()
                .or(before.shipping_address());
            let billing_address = match &change.billing_address {
                Some(b) => b.as_ref(),
                None => before.billing_address(),
            };
            let method = change.shipping_method.as_ref().or(before.shipping_method());
            let (lines, totals) = self
                .price(
                    before.currency(),
                    &drafts,
                    before.discount(),
                    shipping_address,
                    billing_address,
                    method,
                    before.pricing(),
                    before.lines(),
                )
                .await?;
            let reprices = lines != before.lines() || totals != *before.totals();
            if reprices && !editable {
                // Once money has moved the price is fixed: a new destination
                // whose tax or shipping differs would leave the payment
                // short or over. The customer cancels and orders again.
                return Err(RuleViolation::FieldFrozen {
                    field: Self::repricing_field(&before, &change),
                    status: before.status(),
                }
                .into());
            }
            if lines != before.lines() {
                // Tax moved with the destination: the lines change too.
                let now = self.now();
                let events = before.decide(
                    &Command::ChangeLines {
                        lines,
                        totals,
                        reservation_expires_at: None,
                    },
                    now,
                )?;
                let preview = before.with_events(&events, actor, now);
                let mut all = events;
                all.extend(preview.decide(&Command::UpdateDetails { change, totals }, now)?);
                return self
                    .commit(&before, all, actor, now, Extras::default())
                    .await;
            }
            totals
        } else {
            *before.totals()
        };
        let now = self.now();
        let events = before.decide(&Command::UpdateDetails { change, totals }, now)?;
        self.commit(&before, events, actor, now, Extras::default())
            .await
    }

    /// The field to blame when a change would re-price a paid order.
    fn repricing_field(before: &Order, change: &DetailsChange) -> &'static str {
        if change
            .shipping_method
            .as_ref()
            .is_some_and(|m| Some(m) != before.shipping_method())
        {
            "shipping_method"
        } else if change.shipping_address.is_some() {
            "shipping_address"
        } else {
            "billing_address"
        }
    }
}
