"""The root Mutation type: every change to the viewer's workspace.

Mutations need a token with the write scope (``connectChannel``: admin); a read token gets a
FORBIDDEN GraphQL error and changes nothing. Expected failures are ``userErrors`` in the
payload, and a mutation that reports one has changed nothing.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from socialcrm.resolvers.mutations import (
    channels,
    communities,
    customers,
    interactions,
    messages,
    purchases,
)
from socialcrm.schema.enums import MemberRole
from socialcrm.schema.mutation_types import (
    ClearLifecycleStageInput,
    CommunityMemberPayload,
    ConnectChannelInput,
    ConnectChannelPayload,
    CreateCommunityInput,
    CreateCommunityPayload,
    CreateCustomerInput,
    CreateCustomerPayload,
    LifecycleStagePayload,
    MergeCustomersPayload,
    RecordInteractionInput,
    RecordInteractionPayload,
    RecordPurchaseInput,
    RecordPurchasePayload,
    SendMessageInput,
    SendMessagePayload,
    SetLifecycleStageInput,
    TagCustomerPayload,
    UpdateCustomerInput,
    UpdateCustomerPayload,
)
from socialcrm.schema.scoring_settings import (
    UpdateScoringSettingsInput,
    UpdateScoringSettingsPayload,
)

CustomerId = Annotated[strawberry.ID, strawberry.argument(description="The customer's global id.")]
CommunityId = Annotated[
    strawberry.ID, strawberry.argument(description="The community's global id.")
]
TagNames = Annotated[
    list[str],
    strawberry.argument(description="Tag names; trimmed, case kept, at most 100 characters."),
]


@strawberry.type(description="Change the viewer's workspace (write scope; admin where noted).")
class Mutation:
    """Every field changes only the viewer's workspace's data."""

    @strawberry.mutation(description="Create a customer by hand (an imported contact, a walk-in).")
    async def create_customer(
        self,
        info: strawberry.Info,
        input: Annotated[
            CreateCustomerInput, strawberry.argument(description="The new customer's fields.")
        ],
    ) -> CreateCustomerPayload:
        return await customers.create_customer(info, input)

    @strawberry.mutation(
        description="Change a customer's profile; only the fields given change. The id of a "
        "merged customer changes the survivor."
    )
    async def update_customer(
        self,
        info: strawberry.Info,
        id: CustomerId,
        input: Annotated[
            UpdateCustomerInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> UpdateCustomerPayload:
        return await customers.update_customer(info, id, input)

    @strawberry.mutation(
        description="Put tags on a customer; tags are created in the workspace on first use."
    )
    async def tag_customer(
        self, info: strawberry.Info, customer_id: CustomerId, tags: TagNames
    ) -> TagCustomerPayload:
        return await customers.tag_customer(info, customer_id, tags)

    @strawberry.mutation(
        description="Take tags off a customer; names it does not carry are ignored."
    )
    async def untag_customer(
        self, info: strawberry.Info, customer_id: CustomerId, tags: TagNames
    ) -> TagCustomerPayload:
        return await customers.tag_customer(info, customer_id, tags, remove=True)

    @strawberry.mutation(
        description="Merge two profiles of one person: identities, interactions, memberships, "
        "relationships, tags, referral codes and scores move to the survivor, the merged "
        "customer is hidden (its id answers the survivor) and the merge is recorded. One "
        "transaction: all of it happens or nothing."
    )
    async def merge_customers(
        self,
        info: strawberry.Info,
        survivor_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="The global id of the customer that remains (a merged customer's "
                "id means the customer it was merged into)."
            ),
        ],
        merged_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="The global id of the customer merged into it; a customer merged "
                "already, or the survivor itself, is a CONFLICT."
            ),
        ],
    ) -> MergeCustomersPayload:
        return await customers.merge_customers(info, survivor_id, merged_id)

    @strawberry.mutation(
        description="Set a customer's lifecycle stage by hand. It stays until "
        "`clearLifecycleStage` (the stage rules leave it alone meanwhile); the customer's "
        "`lifecycleStageSetBy` and `stageHistory` record the token that set it, and "
        "`scoreChanged` subscribers hear of it."
    )
    async def set_lifecycle_stage(
        self,
        info: strawberry.Info,
        input: Annotated[
            SetLifecycleStageInput, strawberry.argument(description="The customer and stage.")
        ],
    ) -> LifecycleStagePayload:
        from socialcrm.resolvers.mutations.stages import change_stage

        return await change_stage(info, input.customer_id, input.stage)

    @strawberry.mutation(
        description="Give a customer's lifecycle stage back to the stage rules, which infer "
        "it again at once; a stage the rules set already stays as it is."
    )
    async def clear_lifecycle_stage(
        self,
        info: strawberry.Info,
        input: Annotated[
            ClearLifecycleStageInput, strawberry.argument(description="The customer.")
        ],
    ) -> LifecycleStagePayload:
        from socialcrm.resolvers.mutations.stages import change_stage

        return await change_stage(info, input.customer_id, None)

    @strawberry.mutation(description="Create a community (a group, a topic, a mailing list).")
    async def create_community(
        self,
        info: strawberry.Info,
        input: Annotated[
            CreateCommunityInput, strawberry.argument(description="The new community's fields.")
        ],
    ) -> CreateCommunityPayload:
        return await communities.create_community(info, input)

    @strawberry.mutation(
        description="Make a customer a member of a community, or give a member another role."
    )
    async def add_community_member(
        self,
        info: strawberry.Info,
        community_id: CommunityId,
        customer_id: CustomerId,
        role: Annotated[
            MemberRole, strawberry.argument(description="The member's role; MEMBER by default.")
        ] = MemberRole.MEMBER,
    ) -> CommunityMemberPayload:
        return await communities.change_member(info, community_id, customer_id, role)

    @strawberry.mutation(description="End a customer's membership of a community.")
    async def remove_community_member(
        self, info: strawberry.Info, community_id: CommunityId, customer_id: CustomerId
    ) -> CommunityMemberPayload:
        return await communities.change_member(info, community_id, customer_id, None)

    @strawberry.mutation(
        description="Record an interaction by hand (a phone call, a store visit, a note) on "
        "the `manual` channel; observers and subscribers see it like any other. Purchases go "
        "through `recordPurchase`."
    )
    async def record_interaction(
        self,
        info: strawberry.Info,
        input: Annotated[RecordInteractionInput, strawberry.argument(description="What happened.")],
    ) -> RecordInteractionPayload:
        return await interactions.record_interaction(info, input)

    @strawberry.mutation(
        description="Record a purchase by hand: an inbound PURCHASE interaction on the "
        "`manual` channel with its amount and currency. Live scoring counts it toward the "
        "customer's value score; observers and subscribers see it like any other interaction."
    )
    async def record_purchase(
        self,
        info: strawberry.Info,
        input: Annotated[RecordPurchaseInput, strawberry.argument(description="The purchase.")],
    ) -> RecordPurchasePayload:
        return await purchases.record_purchase(info, input)

    @strawberry.mutation(
        description="Connect a channel account (admin scope). The channel checks the "
        "settings; the answer carries the webhook URL, never the secret settings."
    )
    async def connect_channel(
        self,
        info: strawberry.Info,
        input: Annotated[
            ConnectChannelInput, strawberry.argument(description="The account to connect.")
        ],
    ) -> ConnectChannelPayload:
        return await channels.connect_channel(info, input)

    @strawberry.mutation(
        description="Send a message to a customer through a connected account and record it "
        "as an outbound interaction."
    )
    async def send_message(
        self,
        info: strawberry.Info,
        input: Annotated[SendMessageInput, strawberry.argument(description="The message.")],
    ) -> SendMessagePayload:
        return await messages.send(info, input)

    @strawberry.mutation(
        description="Change the workspace's scoring parameters (admin scope); only the "
        "parameters given change, and a refused value changes nothing. Live scoring uses "
        "them from the next interaction on; `scrm rescore` recomputes every customer with "
        "them."
    )
    async def update_scoring_settings(
        self,
        info: strawberry.Info,
        input: Annotated[
            UpdateScoringSettingsInput,  # type: ignore[valid-type]
            strawberry.argument(description="The parameters to change."),
        ],
    ) -> UpdateScoringSettingsPayload:
        from socialcrm.resolvers.scoring_settings import update_scoring_settings

        return await update_scoring_settings(info, input)
