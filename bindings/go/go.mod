module example.invalid/fastrun/bindings/go

go 1.19
