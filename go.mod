module github.com/flexhooks/flexhooks

go 1.26.0

require github.com/twilio/twilio-go v1.31.0

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/golang/mock v1.6.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
)
