package client

// Credentials say how to log in: a provider type and its payload.
type Credentials struct {
	provider string
	payload  map[string]any
	reuse    bool
}

// Provider is the provider type the credentials are for.
func (c Credentials) Provider() string { return c.provider }

// Anonymous logs in anonymously, reusing the device's logged-in anonymous user if there is one.
func Anonymous() Credentials { return Credentials{provider: "anon-user", reuse: true} }

// AnonymousNew logs in as a new anonymous user.
func AnonymousNew() Credentials { return Credentials{provider: "anon-user"} }

// EmailPassword logs in with an email and password.
func EmailPassword(email, password string) Credentials {
	return Credentials{provider: "local-userpass", payload: map[string]any{"username": email, "password": password}}
}

// APIKey logs in with a user or server API key.
func APIKey(key string) Credentials {
	return Credentials{provider: "api-key", payload: map[string]any{"key": key}}
}

// JWT logs in with a custom JWT.
func JWT(token string) Credentials {
	return Credentials{provider: "custom-token", payload: map[string]any{"token": token}}
}

// Function logs in through the app's custom authentication function, with payload as
// its argument.
func Function(payload map[string]any) Credentials {
	return Credentials{provider: "custom-function", payload: payload}
}

// GoogleIDToken logs in with a Google OpenID Connect id token.
func GoogleIDToken(idToken string) Credentials {
	return Credentials{provider: "oauth2-google", payload: map[string]any{"id_token": idToken}}
}

// GoogleAuthCode logs in with a Google server auth code.
func GoogleAuthCode(code string) Credentials {
	return Credentials{provider: "oauth2-google", payload: map[string]any{"authCode": code}}
}

// Facebook logs in with a Facebook access token.
func Facebook(accessToken string) Credentials {
	return Credentials{provider: "oauth2-facebook", payload: map[string]any{"accessToken": accessToken}}
}

// Apple logs in with a Sign in with Apple id token.
func Apple(idToken string) Credentials {
	return Credentials{provider: "oauth2-apple", payload: map[string]any{"id_token": idToken}}
}
