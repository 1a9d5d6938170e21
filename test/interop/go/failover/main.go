// Command failover is the Go side of test/interop/go-etcd-failover.test.ts:
// a program using the generated echo caller (installed as its README says)
// that finds echo.EchoService only through etcd — MSEC_ETCD_ENDPOINTS and
// MSEC_ETCD_PREFIX, no routes file — and keeps WORKERS goroutines calling it
// for SECONDS seconds. It prints "started" after the first successful call,
// then one JSON document: every call (start/end in Unix ms, SRPC code,
// address and RequestSent of failures) and the balancer's weights at the end.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	msec "github.com/msec-gen/msec-gen/runtimes/go"

	"example.com/msec/echo/echoservice/echo"
)

type call struct {
	Start       int64  `json:"start"`
	End         int64  `json:"end"`
	Code        int32  `json:"code"`
	Address     string `json:"address,omitempty"`
	RequestSent bool   `json:"request_sent,omitempty"`
}

func main() {
	workers, _ := strconv.Atoi(os.Getenv("WORKERS"))
	seconds, _ := strconv.ParseFloat(os.Getenv("SECONDS"), 64)
	client := echo.NewEchoServiceClient(msec.Options{Retries: 2})
	// The first call waits for the etcd resolver's first read.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	resp, err := client.Echo(ctx, &echo.EchoRequest{Message: []byte("hello")})
	cancel()
	if err != nil || string(resp.GetMessage()) != "hello" {
		fmt.Fprintf(os.Stderr, "first call: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("started")
	stopAt := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var mu sync.Mutex
	var calls []call
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAt) {
				c := call{Start: time.Now().UnixMilli()}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				resp, err := client.Echo(ctx, &echo.EchoRequest{Message: []byte("load")})
				cancel()
				c.End = time.Now().UnixMilli()
				var e *msec.Error
				switch {
				case errors.As(err, &e):
					c.Code, c.Address, c.RequestSent = e.Code, e.Address, e.RequestSent
				case err != nil:
					c.Code = msec.CodeOf(err)
				case string(resp.GetMessage()) != "load":
					c.Code = 1 // a wrong answer: counted as a failure by the test
				}
				mu.Lock()
				calls = append(calls, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	out, _ := json.Marshal(map[string]any{"calls": calls, "weights": msec.CurrentBalancer().Weights("echo.EchoService")})
	fmt.Println(string(out))
}
