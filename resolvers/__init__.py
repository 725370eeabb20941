"""What answers each GraphQL field: query resolvers, DataLoaders and the request context."""
