// A Java program using the generated echo caller the way a service would: no routes file,
// etcd configured through MSEC_ETCD_ENDPOINTS / MSEC_ETCD_PREFIX. Six threads call
// echo.EchoService for BEFORE_MS, print "kill" (the test then SIGKILLs one of the three
// servers), keep calling for AFTER_MS, then print one JSON line with what happened.
// Args: <victim ip:port> <before ms> <after ms>.
import echo.Echo.EchoRequest;
import echo.EchoServiceClient;
import com.google.protobuf.ByteString;
import io.github.msecgen.runtime.Balancer;
import io.github.msecgen.runtime.CallOptions;
import io.github.msecgen.runtime.SrpcClient;
import io.github.msecgen.runtime.SrpcException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

public final class EtcdFailoverMain {
    record Call(long end, boolean ok, int code, String address, boolean sent) {}

    public static void main(String[] args) throws Exception {
        String victim = args[0];
        long beforeMs = Long.parseLong(args[1]);
        long afterMs = Long.parseLong(args[2]);
        EchoServiceClient client = new EchoServiceClient();
        CallOptions options = CallOptions.DEFAULT.withTimeoutMs(2000).withRetries(2);
        EchoRequest request = EchoRequest.newBuilder().setMessage(ByteString.copyFromUtf8("load")).build();
        // Warm-up: the first call waits for the first read of etcd.
        client.echo(request, options);
        ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
        long started = System.nanoTime();
        long stopAt = started + (beforeMs + afterMs) * 1_000_000L;
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < 6; w++) {
            Thread t = new Thread(() -> {
                while (System.nanoTime() < stopAt) {
                    try {
                        String echoed = client.echo(request, options).getMessage().toStringUtf8();
                        calls.add(new Call(System.nanoTime(), echoed.equals("load"), 0, "", true));
                    } catch (SrpcException e) {
                        calls.add(new Call(System.nanoTime(), false, e.code(), e.address(), e.requestSent()));
                    }
                }
            });
            t.start();
            workers.add(t);
        }
        Thread.sleep(beforeMs);
        long killAt = System.nanoTime();
        System.out.println("kill");
        System.out.flush();
        for (Thread t : workers) t.join();

        int before = 0, beforeOk = 0, during = 0, duringOk = 0;
        StringBuilder failures = new StringBuilder();
        for (Call c : calls) {
            if (c.end() < killAt) {
                before++;
                if (c.ok()) beforeOk++;
            } else {
                during++;
                if (c.ok()) {
                    duringOk++;
                } else {
                    if (failures.length() > 0) failures.append(',');
                    failures.append("{\"code\":").append(c.code()).append(",\"address\":\"").append(c.address())
                        .append("\",\"sent\":").append(c.sent()).append(",\"afterMs\":").append((c.end() - killAt) / 1_000_000).append('}');
                }
            }
        }
        StringBuilder weights = new StringBuilder();
        for (Balancer.ServerWeight w : SrpcClient.shared().balancer().weights("echo.EchoService")) {
            if (weights.length() > 0) weights.append(',');
            weights.append("{\"address\":\"").append(w.address()).append("\",\"weight\":").append(w.dynamicWeight())
                .append(",\"dead\":").append(w.dead()).append('}');
        }
        System.out.println("{\"before\":" + before + ",\"beforeOk\":" + beforeOk + ",\"during\":" + during + ",\"duringOk\":" + duringOk
            + ",\"failures\":[" + failures + "],\"weights\":[" + weights + "],\"victim\":\"" + victim + "\"}");
    }
}
