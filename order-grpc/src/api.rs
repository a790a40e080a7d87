//! [`OrderApi`]: the proto's `order.OrderService`, each call authenticated,
//! converted to domain values, made as one engine use case (the same ones
//! the HTTP API calls) and rendered back. Rules live in order-core: a call
//! here checks who may make it and translates.

use std::sync::Arc;

use order_core::error::OrderRef;
use order_core::ports::IdempotencyKey;
use order_core::{
    Currency, LineEdit, LineId, Order, OrderError, OrderId, OrderNumber, OrderService, Reason,
    Scope,
};
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::auth::{ANYONE, Authenticate, Caller};
use crate::error::GrpcError;
use crate::list::PageRequest;
use crate::message::{id, item_input, order_message, place_order, quantity};
use crate::proto;
use crate::proto::get_order_request::Identifier;
use crate::status::{Step, Target, target};

/// The metadata key of a placement's idempotency key (as HTTP's
/// `Idempotency-Key` header): a retry with the same key returns the first
/// order.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The reason a cancellation records when the request gives none.
const NO_REASON: &str = "no reason given";

/// The gRPC API over the engine's use cases.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct OrderApi {
    orders: OrderService,
    auth: Arc<dyn Authenticate>,
    currency: Currency,
}

type Reply<T> = Result<Response<T>, Status>;

impl OrderApi {
    /// The API over `orders`, trusting the callers `auth` verifies; orders
    /// placed over gRPC are priced in `currency` (the proto's
    /// `CreateOrderRequest` names none).
    pub fn new(orders: OrderService, auth: Arc<dyn Authenticate>, currency: Currency) -> Self {
        Self {
            orders,
            auth,
            currency,
        }
    }

    fn caller(&self, metadata: &MetadataMap) -> Result<Caller, GrpcError> {
        self.auth
            .authenticate(metadata)
            .map_err(GrpcError::Unauthenticated)
    }

    /// The id of an order the caller may act on, read only when the caller's
    /// scope is narrower than every order (a customer), so another
    /// customer's order is NOT_FOUND and its existence does not leak.
    async fn reachable(&self, caller: &Caller, raw: &str) -> Result<OrderId, GrpcError> {
        let order_id = id("order_id", raw, str::parse::<OrderId>)?;
        if let Scope::Customer(_) = caller.scope() {
            self.orders.get_in(order_id, caller.scope()).await?;
        }
        Ok(order_id)
    }

    async fn create(
        &self,
        request: Request<proto::CreateOrderRequest>,
    ) -> Result<Order, GrpcError> {
        let caller = self.caller(request.metadata())?;
        caller.require(ANYONE)?;
        let key = idempotency_key(request.metadata())?;
        let body = request.into_inner();
        let named = Some(body.user_id.trim())
            .filter(|u| !u.is_empty())
            .map(|u| id("user_id", u, str::parse))
            .transpose()?;
        let customer = match (caller.customer_id(), named) {
            (Some(own), None) => own,
            (Some(own), Some(named)) if own == named => own,
            (Some(_), Some(_)) => {
                return Err(GrpcError::PermissionDenied(
                    "customers place orders for themselves".into(),
                ));
            }
            (None, Some(named)) => named,
            (None, None) => {
                return Err(order_core::ValidationError::Empty {
                    field: "user_id".into(),
                }
                .into());
            }
        };
        let placement = place_order(&body, customer, self.currency)?;
        // On a task of its own: when the client gives up, the placement
        // still finishes, so its idempotency key is completed or released at
        // once rather than held in flight for the whole lease.
        let orders = self.orders.clone();
        let actor = caller.actor().clone();
        tokio::spawn(async move { orders.place(placement, key.as_ref(), &actor).await })
            .await
            .map_err(|failure| GrpcError::Internal(Box::new(failure)))?
            .map_err(GrpcError::from)
    }

    async fn get(&self, request: Request<proto::GetOrderRequest>) -> Result<Order, GrpcError> {
        let caller = self.caller(request.metadata())?;
        match request.into_inner().identifier {
            Some(Identifier::Id(raw)) => {
                let order_id = id("id", &raw, str::parse::<OrderId>)?;
                Ok(self.orders.get_in(order_id, caller.scope()).await?)
            }
            Some(Identifier::OrderNumber(raw)) => {
                let number = id("order_number", &raw, OrderNumber::parse)?;
                let order = self.orders.get_by_number(&number).await?;
                if caller.may_see(&order) {
                    Ok(order)
                } else {
                    Err(OrderError::NotFound(OrderRef::Number(number.to_string())).into())
                }
            }
            None => Err(GrpcError::Invalid {
                field: "identifier".into(),
                detail: "give id or order_number".into(),
            }),
        }
    }

    async fn update_status(
        &self,
        request: Request<proto::UpdateOrderStatusRequest>,
    ) -> Result<Order, GrpcError> {
        let caller = self.caller(request.metadata())?;
        let (metadata, _, body) = request.into_parts();
        let order_id = id("order_id", &body.order_id, str::parse::<OrderId>)?;
        let step = match target(&body.status)? {
            Target::Step(step) => step,
            Target::Unreachable => {
                let order = self.orders.get_in(order_id, caller.scope()).await?;
                return Err(GrpcError::NoCommand {
                    requested: body.status,
                    status: order.status(),
                    payment: order.payment_status(),
                });
            }
        };
        caller.require(step.roles())?;
        if step == Step::Pay {
            return Ok(self
                .orders
                .pay_in(order_id, caller.scope(), caller.actor())
                .await?);
        }
        let order = self.orders.get_in(order_id, caller.scope()).await?;
        let operations = step.operations(&order, body.notes.as_deref(), &metadata)?;
        if operations.is_empty() {
            return Err(GrpcError::NoCommand {
                requested: body.status,
                status: order.status(),
                payment: order.payment_status(),
            });
        }
        let mut after = order;
        for operation in operations {
            after = self
                .orders
                .perform(order_id, None, operation, caller.actor())
                .await?;
        }
        Ok(after)
    }

    async fn cancel(
        &self,
        request: Request<proto::CancelOrderRequest>,
    ) -> Result<Order, GrpcError> {
        let caller = self.caller(request.metadata())?;
        let body = request.into_inner();
        let order_id = self.reachable(&caller, &body.order_id).await?;
        let text = Some(body.reason.trim()).filter(|r| !r.is_empty());
        let reason = Reason::parse(text.unwrap_or(NO_REASON))?;
        Ok(self
            .orders
            .cancel(order_id, None, reason, caller.actor())
            .await?)
    }

    async fn list(
        &self,
        request: Request<proto::ListOrdersRequest>,
    ) -> Result<proto::ListOrdersResponse, GrpcError> {
        let caller = self.caller(request.metadata())?;
        let page = PageRequest::parse(request.get_ref(), &caller)?;
        let (number, limit) = (page.page(), page.limit());
        let (orders, total) = page.fetch(&self.orders).await?;
        Ok(proto::ListOrdersResponse {
            orders: orders.iter().map(order_message).collect(),
            total: saturating_i32(total),
            page: saturating_i32(number),
            limit: saturating_i32(limit),
        })
    }

    async fn edit(
        &self,
        metadata: &MetadataMap,
        order_id: &str,
        edit: impl FnOnce() -> Result<LineEdit, GrpcError>,
    ) -> Result<Order, GrpcError> {
        let caller = self.caller(metadata)?;
        let order_id = self.reachable(&caller, order_id).await?;
        let edit = edit()?;
        Ok(self
            .orders
            .edit_lines(order_id, None, &[edit], caller.actor())
            .await?)
    }
}

fn saturating_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn idempotency_key(metadata: &MetadataMap) -> Result<Option<IdempotencyKey>, GrpcError> {
    let Some(value) = metadata.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let invalid = |detail: String| GrpcError::Invalid {
        field: IDEMPOTENCY_KEY.into(),
        detail,
    };
    let text = value
        .to_str()
        .map_err(|_| invalid("must be printable ASCII".into()))?;
    IdempotencyKey::parse(text)
        .map(Some)
        .map_err(|err| invalid(err.to_string()))
}

fn reply(order: Result<Order, GrpcError>) -> Reply<proto::Order> {
    Ok(Response::new(order_message(&order?)))
}

#[tonic::async_trait]
impl proto::order_service_server::OrderService for OrderApi {
    async fn create_order(
        &self,
        request: Request<proto::CreateOrderRequest>,
    ) -> Reply<proto::Order> {
        reply(self.create(request).await)
    }

    async fn get_order(&self, request: Request<proto::GetOrderRequest>) -> Reply<proto::Order> {
        reply(self.get(request).await)
    }

    async fn update_order_status(
        &self,
        request: Request<proto::UpdateOrderStatusRequest>,
    ) -> Reply<proto::Order> {
        reply(self.update_status(request).await)
    }

    async fn cancel_order(
        &self,
        request: Request<proto::CancelOrderRequest>,
    ) -> Reply<proto::CancelOrderResponse> {
        let order = self.cancel(request).await?;
        Ok(Response::new(proto::CancelOrderResponse {
            success: true,
            message: format!("order {} cancelled", order.number()),
        }))
    }

    async fn list_orders(
        &self,
        request: Request<proto::ListOrdersRequest>,
    ) -> Reply<proto::ListOrdersResponse> {
        Ok(Response::new(self.list(request).await?))
    }

    async fn add_order_item(
        &self,
        request: Request<proto::AddOrderItemRequest>,
    ) -> Reply<proto::Order> {
        let (metadata, _, body) = request.into_parts();
        reply(
            self.edit(&metadata, &body.order_id, || {
                let item = body.item.as_ref().ok_or_else(|| GrpcError::Invalid {
                    field: "item".into(),
                    detail: "required".into(),
                })?;
                item_input("item", item)
            })
            .await,
        )
    }

    async fn update_order_item(
        &self,
        request: Request<proto::UpdateOrderItemRequest>,
    ) -> Reply<proto::Order> {
        let (metadata, _, body) = request.into_parts();
        reply(
            self.edit(&metadata, &body.order_id, || {
                Ok(LineEdit::SetQuantity {
                    line_id: id("item_id", &body.item_id, str::parse::<LineId>)?,
                    quantity: quantity("", body.quantity)?,
                })
            })
            .await,
        )
    }

    async fn remove_order_item(
        &self,
        request: Request<proto::RemoveOrderItemRequest>,
    ) -> Reply<proto::Order> {
        let (metadata, _, body) = request.into_parts();
        reply(
            self.edit(&metadata, &body.order_id, || {
                Ok(LineEdit::Remove {
                    line_id: id("item_id", &body.item_id, str::parse::<LineId>)?,
                })
            })
            .await,
        )
    }
}
