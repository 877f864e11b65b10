module github.com/libmcp/libmcp/bindings/go

go 1.19
