//! `ListOrders`: the proto's numbered pages over the engine's keyset pages.
//! The store pages by a cursor in creation order and keeps no count, so a
//! numbered page and its `total` come from walking the matching orders in
//! the store's largest pages (as the engine's own report does): the cost
//! grows with the number of matching orders, not with the page asked for.
//! Only creation time orders a list (`sort_by` empty or `created_at`), as
//! the store's port offers no other sort.

use order_core::ports::{OrderQuery, SortOrder};
use order_core::{Order, OrderService, OrderStatus, ValidationError};

use crate::auth::Caller;
use crate::error::GrpcError;
use crate::message::id;
use crate::proto;

/// The page size when the request gives none.
const DEFAULT_LIMIT: usize = 50;

/// A numbered page of a query.
#[derive(Debug)]
pub(crate) struct PageRequest {
    query: OrderQuery,
    /// 1-based.
    page: usize,
    limit: usize,
}

impl PageRequest {
    /// The page `request` asks for, within what `caller` may see: customers
    /// list their own orders whatever `user_id` says.
    pub(crate) fn parse(
        request: &proto::ListOrdersRequest,
        caller: &Caller,
    ) -> Result<Self, GrpcError> {
        let named = Some(request.user_id.trim())
            .filter(|u| !u.is_empty())
            .map(|u| id("user_id", u, str::parse))
            .transpose()?;
        let status = request
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.to_ascii_lowercase().parse::<OrderStatus>())
            .transpose()?;
        let sort = match request.sort_by.trim() {
            "" | "created_at" => {
                if request.sort_desc {
                    SortOrder::NewestFirst
                } else {
                    SortOrder::OldestFirst
                }
            }
            other => {
                return Err(GrpcError::Invalid {
                    field: "sort_by".into(),
                    detail: format!("{other:?}: orders sort by created_at only"),
                });
            }
        };
        let limit = match request.limit {
            0 => DEFAULT_LIMIT,
            n => usize::try_from(n)
                .ok()
                .filter(|n| (1..=OrderQuery::MAX_LIMIT).contains(n))
                .ok_or_else(|| ValidationError::OutOfRange {
                    field: "limit".into(),
                    value: i64::from(n),
                    min: 1,
                    max: OrderQuery::MAX_LIMIT as i64,
                })?,
        };
        let page =
            match request.page {
                0 => 1,
                n => usize::try_from(n).ok().filter(|n| *n >= 1).ok_or(
                    ValidationError::OutOfRange {
                        field: "page".into(),
                        value: i64::from(n),
                        min: 1,
                        max: i64::from(i32::MAX),
                    },
                )?,
            };
        Ok(Self {
            query: OrderQuery {
                customer_id: caller.customer_id().or(named),
                status,
                sort,
                limit: OrderQuery::MAX_LIMIT,
                ..OrderQuery::default()
            },
            page,
            limit,
        })
    }

    /// The page number, 1-based.
    pub(crate) fn page(&self) -> usize {
        self.page
    }

    /// The page size.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// The page's orders and how many match in all.
    pub(crate) async fn fetch(
        mut self,
        orders: &OrderService,
    ) -> Result<(Vec<Order>, usize), GrpcError> {
        let skip = (self.page - 1).saturating_mul(self.limit);
        let mut found = Vec::with_capacity(self.limit);
        let mut total = 0_usize;
        loop {
            let batch = orders.list(&self.query).await?;
            for order in batch.orders {
                if total >= skip && found.len() < self.limit {
                    found.push(order);
                }
                total += 1;
            }
            match batch.next {
                Some(cursor) => self.query.after = Some(cursor),
                None => return Ok((found, total)),
            }
        }
    }
}
