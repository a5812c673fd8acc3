// Package mailtest runs a real SMTP server on loopback that keeps every message it
// receives, for tests that check what Warden mails.
package mailtest

import (
	"errors"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received email.
type Message struct {
	From    string   `json:"from"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Body    string   `json:"body"`
	Raw     string   `json:"raw"`
}

// Catcher is a running SMTP server.
type Catcher struct {
	srv *smtp.Server
	ln  net.Listener

	mu   sync.Mutex
	msgs []Message
	cond *sync.Cond
}

// Start listens on a free loopback port.
func Start() (*Catcher, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &Catcher{ln: ln}
	c.cond = sync.NewCond(&c.mu)
	c.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{c: c}, nil }))
	c.srv.Domain = "mailtest.local"
	c.srv.ReadTimeout = 10 * time.Second
	c.srv.WriteTimeout = 10 * time.Second
	c.srv.AllowInsecureAuth = true
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// Addr is the host:port the catcher listens on.
func (c *Catcher) Addr() string { return c.ln.Addr().String() }

// URL is an SMTP URL for Warden's --smtp flag.
func (c *Catcher) URL() string { return "smtp://" + c.Addr() + "?from=noreply@warden.test" }

// Close stops the server.
func (c *Catcher) Close() error { return c.srv.Close() }

// Messages returns every message received so far.
func (c *Catcher) Messages() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.msgs...)
}

// WaitFor waits up to timeout for a message to `to` whose subject contains subject, and
// returns the latest such message.
func (c *Catcher) WaitFor(to, subject string, timeout time.Duration) (Message, error) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i := len(c.msgs) - 1; i >= 0; i-- {
			m := c.msgs[i]
			for _, rcpt := range m.To {
				if strings.EqualFold(rcpt, to) && strings.Contains(m.Subject, subject) {
					return m, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return Message{}, errors.New("mailtest: no message to " + to + " about " + subject)
		}
		c.cond.Wait()
	}
}

type session struct {
	c    *Catcher
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: s.from, To: s.to, Raw: string(raw)}
	if parsed, err := mail.ReadMessage(strings.NewReader(string(raw))); err == nil {
		m.Subject = parsed.Header.Get("Subject")
		if decoded, err := new(mime.WordDecoder).DecodeHeader(m.Subject); err == nil {
			m.Subject = decoded
		}
		body, _ := io.ReadAll(parsed.Body)
		m.Body = strings.ReplaceAll(string(body), "\r\n", "\n")
	}
	s.c.mu.Lock()
	s.c.msgs = append(s.c.msgs, m)
	s.c.cond.Broadcast()
	s.c.mu.Unlock()
	return nil
}
