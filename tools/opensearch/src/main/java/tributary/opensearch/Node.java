package tributary.opensearch;

import static org.codelibs.opensearch.runner.OpenSearchRunner.newConfigs;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * Starts one OpenSearch node on the loopback interface for Tributary's tests
 * and demo, and keeps it running until the process is terminated.
 *
 * <pre>
 * -port N          HTTP port (required)
 * -transport N     transport port (default: port + 100)
 * -data DIR        home, data and log directory (required; a temp folder)
 * -set key=value   any node setting, repeatable, e.g.
 *                  -set http.max_content_length=64kb -set thread_pool.write.queue_size=1
 * </pre>
 *
 * Prints "TRIBUTARY-OPENSEARCH-READY http://127.0.0.1:N" once the cluster is
 * yellow or green, so a caller can wait for that line.
 */
public final class Node {
    private Node() {
    }

    public static void main(final String[] args) throws Exception {
        int port = 0;
        int transport = 0;
        String data = null;
        final Map<String, String> settings = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            final String a = args[i];
            if (i + 1 >= args.length) {
                usage("missing value after " + a);
            }
            final String v = args[++i];
            switch (a) {
            case "-port":
                port = Integer.parseInt(v);
                break;
            case "-transport":
                transport = Integer.parseInt(v);
                break;
            case "-data":
                data = v;
                break;
            case "-set":
                final int eq = v.indexOf('=');
                if (eq <= 0) {
                    usage("-set wants key=value, got " + v);
                }
                settings.put(v.substring(0, eq), v.substring(eq + 1));
                break;
            default:
                usage("unknown argument " + a);
            }
        }
        if (port <= 0 || data == null) {
            usage("-port and -data are required");
        }
        if (transport <= 0) {
            transport = port + 100;
        }
        final int httpPort = port;
        final int transportPort = transport;

        final OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(-1); // take the port given, not a scan from 9200
        runner.onBuild((number, b) -> {
            b.put("network.host", "127.0.0.1");
            b.put("http.port", String.valueOf(httpPort));
            b.put("transport.port", String.valueOf(transportPort));
            b.put("discovery.type", "single-node");
            b.put("cluster.routing.allocation.disk.threshold_enabled", "false");
            b.put("action.auto_create_index", "true");
            settings.forEach(b::put);
        });
        final CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (final Exception e) {
                System.err.println("close: " + e);
            }
            stop.countDown();
        }));
        try {
            runner.build(newConfigs().numOfNode(1).basePath(data).baseHttpPort(httpPort - 1)
                    .clusterName("tributary-test").printOnFailure());
            runner.ensureYellow();
        } catch (final Throwable t) {
            t.printStackTrace();
            System.exit(2);
        }
        System.out.println("TRIBUTARY-OPENSEARCH-READY http://127.0.0.1:" + httpPort);
        System.out.flush();
        stop.await();
    }

    private static void usage(final String why) {
        System.err.println("tributary.opensearch.Node: " + why);
        System.err.println("usage: -port N -data DIR [-transport N] [-set key=value ...]");
        System.exit(64);
    }
}
