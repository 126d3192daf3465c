/**
 * plm-shared on S3-protocol object stores: the `ObjectStoreBackend` artifact backend.
 * Importing this entry point loads `@aws-sdk/client-s3`.
 *
 * @module
 */
export * from "./src/object_store_backend.ts";
