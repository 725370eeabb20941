"""The GraphQL schema: Strawberry types, inputs, enums and the root types."""
