// Package proto is the gRPC protocol between oimconnect and a transform plugin:
// transform.proto and the Go code generated from it (committed, so builds never need
// protoc). Tenants do not use it directly: plugins/shared wraps it.
package proto

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative transform.proto
