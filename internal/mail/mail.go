// Package mail sends Warden's email (account confirmation and password reset) over SMTP.
package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Message is one plain-text email.
type Message struct {
	To      string
	Subject string
	Body    string
}

// Sender sends email.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrNotConfigured is returned by the sender used when no SMTP server is configured.
var ErrNotConfigured = errors.New("mail: no SMTP server configured (--smtp)")

// Disabled is a Sender for servers with no SMTP configured: every Send fails with
// ErrNotConfigured, so that callers can report it.
type Disabled struct{}

// Send implements Sender.
func (Disabled) Send(context.Context, Message) error { return ErrNotConfigured }

// SMTP sends through one SMTP server.
type SMTP struct {
	addr     string
	host     string
	implicit bool // smtps: TLS from the first byte
	user     string
	pass     string
	from     string
	timeout  time.Duration
	tlsConf  *tls.Config
}

// NewSMTP parses an SMTP URL: smtp://[user:password@]host[:port]?from=address sends with
// STARTTLS when the server offers it (port 587 by default); smtps:// uses TLS from the
// start (port 465 by default). The from parameter is required. Credentials are only sent
// over TLS, or to a server on the loopback interface.
func NewSMTP(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP URL: %w", err)
	}
	s := &SMTP{timeout: 30 * time.Second}
	port := ""
	switch u.Scheme {
	case "smtp":
		port = "587"
	case "smtps":
		port, s.implicit = "465", true
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme must be smtp or smtps, not %q", u.Scheme)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("mail: SMTP URL has no host")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	s.addr = net.JoinHostPort(s.host, port)
	from := u.Query().Get("from")
	if from == "" {
		return nil, errors.New("mail: SMTP URL needs a from parameter, e.g. ?from=noreply@example.com")
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: from address: %w", err)
	}
	s.from = addr.Address
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	s.tlsConf = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	return s, nil
}

// Send implements Sender.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("mail: recipient: %w", err)
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dialer := &net.Dialer{Deadline: deadline}
	var conn net.Conn
	if s.implicit {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: s.tlsConf}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return fmt.Errorf("mail: connecting to %s: %w", s.addr, err)
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: greeting from %s: %w", s.addr, err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("mail: HELO: %w", err)
	}
	if !s.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConf); err != nil {
				return fmt.Errorf("mail: STARTTLS: %w", err)
			}
		}
	}
	if s.user != "" {
		if ok, _ := c.Extension("AUTH"); ok {
			// smtp.PlainAuth refuses to send credentials without TLS except to localhost.
			if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
				return fmt.Errorf("mail: AUTH: %w", err)
			}
		}
	}
	if err := c.Mail(s.from); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("mail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(s.render(to.Address, m)); err != nil {
		return fmt.Errorf("mail: writing message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: ending message: %w", err)
	}
	return c.Quit()
}

func (s *SMTP) render(to string, m Message) []byte {
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	domain := s.from[strings.LastIndexByte(s.from, '@')+1:]
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", s.from)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id), domain)
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: 8bit\r\n\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	// Dot-stuffing is done by the DATA writer of net/smtp.
	b.WriteString(body)
	if !strings.HasSuffix(body, "\r\n") {
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}
