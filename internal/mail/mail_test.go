package mail_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/mail"
	"github.com/wardenauth/warden/internal/mail/mailtest"
)

func TestSMTPDeliversToARealServer(t *testing.T) {
	c, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := mail.NewSMTP(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	body := "Line one\n.starts with a dot\nlink: https://x.example/confirm?token=a&tokenId=b\n"
	if err := s.Send(context.Background(), mail.Message{To: "joe@example.com", Subject: "Bestätigen Sie", Body: body}); err != nil {
		t.Fatal(err)
	}
	m, err := c.WaitFor("joe@example.com", "Bestätigen", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "noreply@warden.test" || m.Body != body {
		t.Fatalf("got from %q body %q", m.From, m.Body)
	}
	if !strings.Contains(m.Raw, "Message-ID: <") || !strings.Contains(m.Raw, "Content-Type: text/plain; charset=utf-8") {
		t.Fatalf("headers: %q", m.Raw)
	}
}

func TestSMTPURLs(t *testing.T) {
	for _, bad := range []string{"http://x", "smtp://", "smtp://host", "smtp://host?from=not-an-address"} {
		if _, err := mail.NewSMTP(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := mail.NewSMTP("smtps://user:pw@mail.example.com?from=a@b.io"); err != nil {
		t.Errorf("smtps URL refused: %v", err)
	}
}

func TestUnreachableServerIsAnError(t *testing.T) {
	s, err := mail.NewSMTP("smtp://127.0.0.1:1?from=a@b.io")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), mail.Message{To: "x@y.io", Subject: "s", Body: "b"}); err == nil {
		t.Fatal("sending to a closed port succeeded")
	}
	if err := (mail.Disabled{}).Send(context.Background(), mail.Message{}); !errors.Is(err, mail.ErrNotConfigured) {
		t.Fatalf("Disabled.Send = %v", err)
	}
}
