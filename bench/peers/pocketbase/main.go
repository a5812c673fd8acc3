// Command pocketbase is PocketBase, unchanged, as `go run ./bench -peers` runs it beside
// Warden: a module of its own, so that the server's dependencies do not grow.
//
//	go build -o pocketbase . && ./pocketbase serve --http 127.0.0.1:8090 --dir pb_data
package main

import (
	"log"

	"github.com/pocketbase/pocketbase"
)

func main() {
	if err := pocketbase.New().Start(); err != nil {
		log.Fatal(err)
	}
}
