package server

import (
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/service"
)

func TestAuthFailure(t *testing.T) {
	expired := &gatehouse.Token{ID: 4, UserID: 2, Note: "old", Hash: "h", LastEight: "12345678"}
	for _, c := range []struct {
		in   auth.Failure
		want service.AuthFailure
	}{
		{auth.Failure{IP: "192.0.2.1", Malformed: true}, service.AuthFailure{IP: "192.0.2.1", Reason: service.ReasonMalformed}},
		{auth.Failure{IP: "192.0.2.1"}, service.AuthFailure{IP: "192.0.2.1", Reason: service.ReasonUnknownToken}},
		{auth.Failure{IP: "192.0.2.1", Token: expired}, service.AuthFailure{IP: "192.0.2.1", UserID: 2, TokenID: 4, Note: "old", Reason: service.ReasonExpiredToken}},
	} {
		if got := authFailure(c.in); got != c.want {
			t.Errorf("authFailure(%+v) = %+v, want %+v", c.in, got, c.want)
		}
	}
}
