"""Customer mutations: create, update, tag, untag and merge."""

from __future__ import annotations

from typing import Any, cast

import strawberry

from socialcrm.plugins.models import CustomerChange
from socialcrm.resolvers.mutations.base import (
    announce_changes,
    decode_id,
    require_scope,
    services_of,
    transaction,
    user_error,
)
from socialcrm.resolvers.mutations.stages import token_label
from socialcrm.schema.customer import Customer
from socialcrm.schema.mutation_types import (
    CreateCustomerInput,
    CreateCustomerPayload,
    MergeCustomersPayload,
    TagCustomerPayload,
    UpdateCustomerInput,
    UpdateCustomerPayload,
)
from socialcrm.schema.node import to_global_id
from socialcrm.server import customers, tags
from socialcrm.server.customers import customer_change
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.scoring.manual import set_manual_stage


async def create_customer(
    info: strawberry.Info, data: CreateCustomerInput
) -> CreateCustomerPayload:
    """Create a customer (and its tags) in one transaction, then tell the observers."""
    viewer = require_scope(info, "write")
    services = services_of(info)
    try:
        async with transaction(services) as session:
            row = await customers.create_customer(
                session,
                viewer.workspace_id,
                display_name=data.display_name,
                handle=data.handle,
                email=data.email,
                phone=data.phone,
                lifecycle_stage=str(data.lifecycle_stage.value) if data.lifecycle_stage else None,
                attributes=cast("dict[str, Any] | None", data.attributes),
            )
            assert row.id is not None
            names: list[str] = []
            if data.tags:
                names, _ = await tags.tag_customer(session, viewer.workspace_id, row.id, data.tags)
    except ChangeRejected as exc:
        return CreateCustomerPayload(user_errors=[user_error(exc)])
    fields: dict[str, Any] = {
        name: getattr(row, name)
        for name in ("display_name", "handle", "email", "phone", "lifecycle_stage")
        if getattr(row, name) is not None
    }
    if names:
        fields["tags"] = names
    await announce_changes(services, [customer_change(row, "created", fields)])
    return CreateCustomerPayload(customer=Customer.from_row(row))


_UPDATABLE = ("display_name", "handle", "email", "phone", "lifecycle_stage", "attributes")


async def update_customer(
    info: strawberry.Info, global_id: str, data: UpdateCustomerInput
) -> UpdateCustomerPayload:
    """Change the given fields of a customer; observers hear of it when something changed."""
    viewer = require_scope(info, "write")
    services = services_of(info)
    changes: dict[str, Any] = {}
    for name in _UPDATABLE:
        value = getattr(data, name)
        if value is strawberry.UNSET:
            continue
        changes[name] = value.value if name == "lifecycle_stage" and value is not None else value
    try:
        if "lifecycle_stage" in changes and changes["lifecycle_stage"] is None:
            raise ChangeRejected(
                "lifecycleStage cannot be null", code="REQUIRED", field="lifecycleStage"
            )
        stage = changes.pop("lifecycle_stage", None)
        customer_id = decode_id(global_id, "Customer", "id")
        async with transaction(services) as session:
            found = await customers.get_customer(session, viewer.workspace_id, customer_id)
            assert found.id is not None
            target = found.id  # the survivor, when the id was a merged customer's
            row, changed = await customers.update_customer(
                session, viewer.workspace_id, target, changes
            )
            if stage is not None and row.lifecycle_stage != stage:
                # A stage a person gives is set by hand, as setLifecycleStage does it.
                set_by = await token_label(session, viewer)
                await set_manual_stage(session, services, row, stage, set_by)
                changed["lifecycle_stage"] = stage
            if data.tags is not strawberry.UNSET:
                names, added, removed = await tags.set_customer_tags(
                    session, viewer.workspace_id, target, data.tags or []
                )
                if added or removed:
                    changed["tags"] = names
    except ChangeRejected as exc:
        return UpdateCustomerPayload(user_errors=[user_error(exc, {"id": global_id})])
    if changed:
        await announce_changes(services, [customer_change(row, "updated", changed)])
    return UpdateCustomerPayload(customer=Customer.from_row(row))


async def tag_customer(
    info: strawberry.Info, customer_global_id: str, names: list[str], *, remove: bool = False
) -> TagCustomerPayload:
    """Add (or with ``remove``, take off) tags; observers hear of tags that really changed."""
    viewer = require_scope(info, "write")
    services = services_of(info)
    change = tags.untag_customer if remove else tags.tag_customer
    try:
        customer_id = decode_id(customer_global_id, "Customer", "customerId")
        async with transaction(services) as session:
            row = await customers.get_customer(
                session, viewer.workspace_id, customer_id, field_name="customerId"
            )
            assert row.id is not None
            now, changed = await change(session, viewer.workspace_id, row.id, names)
    except ChangeRejected as exc:
        return TagCustomerPayload(user_errors=[user_error(exc, {"customerId": customer_global_id})])
    if changed:
        fields = {"removed" if remove else "added": changed, "tags": now}
        kind = "untagged" if remove else "tagged"
        await announce_changes(services, [customer_change(row, kind, fields)])
    return TagCustomerPayload(customer=Customer.from_row(row), changed_tags=changed)


async def merge_customers(
    info: strawberry.Info, survivor_global_id: str, merged_global_id: str
) -> MergeCustomersPayload:
    """Merge one customer into another in one transaction; observers hear of the survivor."""
    viewer = require_scope(info, "write")
    services = services_of(info)
    try:
        survivor_id = decode_id(survivor_global_id, "Customer", "survivorId")
        merged_id = decode_id(merged_global_id, "Customer", "mergedId")
        async with transaction(services) as session:
            result = await customers.merge_customers(
                session, viewer.workspace_id, survivor_id, merged_id
            )
    except ChangeRejected as exc:
        sent = {"survivorId": survivor_global_id, "mergedId": merged_global_id}
        return MergeCustomersPayload(user_errors=[user_error(exc, sent)])
    # The survivor, also when survivorId was the id of a customer merged earlier.
    assert result.survivor.id is not None
    change = CustomerChange(
        workspace_id=viewer.workspace_id,
        customer_id=result.survivor.id,
        change="merged",
        fields={"merged_id": merged_id, "moved": result.moved},
    )
    await announce_changes(services, [change])
    return MergeCustomersPayload(
        customer=Customer.from_row(result.survivor),
        merged_customer_id=to_global_id("Customer", merged_id),
    )
