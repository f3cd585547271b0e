"""The rules of the product: validation, IDs, paging and the use cases. No SQL, no gRPC."""
