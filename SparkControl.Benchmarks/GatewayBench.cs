using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using SparkControl.Tests.Infrastructure;
using static SparkControl.Benchmarks.BenchProcess;

namespace SparkControl.Benchmarks;

/// <summary>
/// The gateway's cost on loopback, against one simulated vLLM upstream in a process of its own (<c>SparkControl.Sim vllm
/// serve</c>, generating without delay), which the panel knows from <c>services.yaml</c>: the same calls sent directly, through nginx (<c>proxy_buffering off</c>, keep-alive to the upstream) and through the
/// gateway, plus caddy (Go's reverse proxy, the class llama-swap is in) and bare YARP. Non-streaming calls with
/// <c>wrk</c>: throughput at saturation (32 connections) and p50/p99/p99.9/worst latency at 4 connections; streaming
/// calls with an HttpClient: time to first byte and tokens per second. Rounds alternate the paths so drift on a shared
/// machine hits them alike; medians are reported, and the ratios are the figures. The gateway and bare YARP are compared
/// round by round, their saturation runs cut into four slices taken in turns: their cost and throughput move with this VM's
/// noise by more than the gap between them, and slices a few seconds apart meet the same noise. Last, the panel is started again and,
/// 60 s after it first answers <c>/healthz</c>, measured once more at 4 connections without a warm-up (fresh).
/// The panel is the one the image ships: published (ReadyToRun) for this machine into the bench's directory first.
/// Needs Debian's <c>wrk</c>, <c>nginx-light</c> and <c>caddy</c>, and a Release build:
/// <c>gateway-bench [seconds per run] [rounds] [paths, e.g. gateway,bare-yarp]</c>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static partial class GatewayBench
{
    private const string ChatBody = """{"model":"bench","max_tokens":16,"messages":[{"role":"user","content":"Say hello"}]}""";
    private const string StreamBody = """{"model":"bench","stream":true,"max_tokens":64,"messages":[{"role":"user","content":"Tell me a story"}]}""";

    private sealed record WrkResult(double RequestsPerSecond, double P50Ms, double P99Ms, double P999Ms, double MaxMs, long Errors, long Requests);

    private sealed record StreamResult(double TtfbP50Ms, double TtfbP99Ms, double TokensPerSecond, int Streams);

    private sealed record Round(WrkResult Saturated, WrkResult Latency, StreamResult Streaming, double CpuMicrosecondsPerRequest);

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        // Some paths alone, comma-separated (direct, nginx, caddy, gateway, bare-yarp), e.g. to profile one or compare two;
        // the table and verdicts need all five.
        var only = args.Length > 3 ? args[3] : null;
        foreach (var tool in new[] { "wrk", "nginx", "caddy" })
        {
            if (!File.Exists($"/usr/bin/{tool}") && !File.Exists($"/usr/sbin/{tool}"))
            {
                await Console.Error.WriteLineAsync($"gateway-bench needs {tool}: apt-get install wrk nginx-light caddy");
                return 2;
            }
        }

        using var work = new TempDirectory("gateway-bench");
        var repository = Tools.RepositoryRoot;
        var upstreamPort = Tools.FreePort();
        await using var upstreamProcess = await Upstream.StartAsync(repository, upstreamPort);
        var upstream = new Uri($"http://127.0.0.1:{upstreamPort}/");
        var published = await BenchPanel.PublishAsync(repository, work.Path);
        var panelPort = Tools.FreePort();
        var panel = await Panel.StartAsync(published, work.Path, panelPort, upstream);
        try
        {
            var nginxPort = Tools.FreePort();
            await using var nginx = await Nginx.StartAsync(work.Path, nginxPort, upstream);
            var yarpPort = Tools.FreePort();
            await using var yarp = await ProxyProcess.StartBareYarpAsync(yarpPort, upstream, Path.ChangeExtension(published, ".runtimeconfig.json"));
            var caddyPort = Tools.FreePort();
            await using var caddy = await ProxyProcess.StartCaddyAsync(work.Path, caddyPort, upstream);
            var script = Path.Combine(work.Path, "chat.lua");
            await File.WriteAllTextAsync(script, $$"""
                wrk.method = "POST"
                wrk.headers["Content-Type"] = "application/json"
                wrk.body = '{{ChatBody}}'
                done = function(summary, latency, requests)
                  io.write(string.format("tail-us %d %d %d %d\n", latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
                end

                """);

            // Each path with the processes whose CPU time is its own: the upstream's for direct, the proxy's otherwise.
            var paths = new (string Name, Uri Base, Func<int[]> Processes)[]
            {
                ("direct", upstream, () => [upstreamProcess.Id]),
                ("nginx", new Uri($"http://127.0.0.1:{nginxPort}/"), nginx.Processes),
                ("caddy", caddy.BaseAddress, () => [caddy.Id]),
                ("gateway", panel.BaseAddress, () => [panel.Id]),
                ("bare-yarp", yarp.BaseAddress, () => [yarp.Id]),
            }.Where(p => only is null || only.Split(',').Contains(p.Name)).ToArray();
            Console.WriteLine($"gateway-bench: {seconds} s per run, {rounds} rounds, {Environment.ProcessorCount} cores; upstream {upstream}");
            foreach (var (name, baseUri, _) in paths)
            {
                // Warm-up at full load: connection pools fill, nginx keeps its upstream connections, and in the two .NET
                // paths tiered compilation settles, which takes minutes of load (measured in the panel: 72 µs CPU per
                // request after 5 s of load, 56 µs two minutes later; after 15 s the gateway's first round was the worst
                // of its run in four runs on 2026-12-07: +9.6, +12.3, +14.9 and +10.3 µs over bare YARP).
                await WrkAsync(new Uri(baseUri, "v1/chat/completions"), script, 32, Paired(name) ? 90 : 15);
                await StreamAsync(new Uri(baseUri, "v1/chat/completions"), 2, TimeSpan.FromSeconds(2));
            }

            var results = paths.ToDictionary(p => p.Name, _ => new List<Round>());
            var paired = paths.Count(p => Paired(p.Name)) == 2;
            for (var round = 1; round <= rounds; round++)
            {
                // Bare YARP goes first in every other round, so neither of the pair compared is always the later one.
                var order = round % 2 == 0 ? Swapped(paths, p => p.Name, "gateway", "bare-yarp") : paths;
                // The pair's saturation runs in slices taken in turns, before the round's other runs of either.
                var interleaved = paired
                    ? await InterleavedAsync([.. order.Where(p => Paired(p.Name)).Select(p => (p.Name, new Uri(p.Base, "v1/chat/completions"), p.Processes))], script, seconds)
                    : [];
                foreach (var (name, baseUri, processes) in order)
                {
                    var url = new Uri(baseUri, "v1/chat/completions");
                    var (saturated, cpu) = interleaved.TryGetValue(name, out var measured) ? measured : await SaturateAsync(url, script, seconds, processes);
                    var latency = await WrkAsync(url, script, 4, seconds);
                    var streaming = await StreamAsync(url, 4, TimeSpan.FromSeconds(seconds));
                    results[name].Add(new Round(saturated, latency, streaming, cpu));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  round {round} {name,-9} {saturated.RequestsPerSecond,8:F0} req/s @32 ({cpu,5:F1} µs CPU/req) | p50 {latency.P50Ms,5:F2} p99 {latency.P99Ms,5:F2} p99.9 {latency.P999Ms,6:F2} max {latency.MaxMs,6:F2} ms @4 ({latency.RequestsPerSecond:F0} req/s) | stream ttfb p50 {streaming.TtfbP50Ms,5:F2} p99 {streaming.TtfbP99Ms,5:F2} ms, {streaming.TokensPerSecond,7:F0} tok/s"));
                    if (saturated.Errors + latency.Errors > 0)
                    {
                        await Console.Error.WriteLineAsync($"{name}: {saturated.Errors + latency.Errors} non-2xx responses or socket errors; the figures are not comparable.");
                        return 1;
                    }
                }
            }

            WrkResult? fresh = null;
            WrkResult? freshDirect = null;
            if (only is null || only.Split(',').Contains("gateway"))
            {
                // A freshly started panel: measured 60 s after it first answers /healthz, with the demo's background work
                // running and no warm-up load, then direct at once for the comparison.
                await panel.DisposeAsync();
                panel = await Panel.StartAsync(published, work.Path, panelPort, upstream);
                var waited = FreshAfter - panel.SinceHealthy;
                if (waited > TimeSpan.Zero)
                {
                    await Task.Delay(waited);
                }

                fresh = await WrkAsync(new Uri(panel.BaseAddress, "v1/chat/completions"), script, 4, seconds);
                // The same again at once: a stall that does not come back is the panel's first requests (JIT, pools).
                var again = await WrkAsync(new Uri(panel.BaseAddress, "v1/chat/completions"), script, 4, seconds);
                freshDirect = await WrkAsync(new Uri(upstream, "v1/chat/completions"), script, 4, seconds);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  fresh   gateway   p50 {fresh.P50Ms,5:F2} p99 {fresh.P99Ms,5:F2} p99.9 {fresh.P999Ms,6:F2} max {fresh.MaxMs,6:F2} ms @4 ({fresh.RequestsPerSecond:F0} req/s); the next {seconds} s: p99 {again.P99Ms,5:F2} p99.9 {again.P999Ms,6:F2} max {again.MaxMs,6:F2} ms; direct p50 {freshDirect.P50Ms,5:F2} p99 {freshDirect.P99Ms,5:F2} p99.9 {freshDirect.P999Ms,6:F2} max {freshDirect.MaxMs,6:F2} ms"));
            }

            if (only is null)
            {
                Report(results, fresh!, freshDirect!);
            }

            return 0;
        }
        finally
        {
            await panel.DisposeAsync();
        }
    }

    /// <summary>With its sign and <paramref name="decimals"/> decimals; a gap that rounds to nothing is +0.0 (a custom format printed -0.04 as "-+0.0").</summary>
    private static string Signed(double value, int decimals = 1)
    {
        var digits = new string('0', decimals);
        return (Math.Round(value, decimals) + 0.0).ToString($"+0.{digits};-0.{digits};+0.{digits}", CultureInfo.InvariantCulture);
    }

    /// <summary>wrk at 32 connections for <paramref name="seconds"/>, with the CPU the path's processes spent per request meanwhile.</summary>
    private static async Task<(WrkResult Saturated, double CpuMicroseconds)> SaturateAsync(Uri url, string script, int seconds, Func<int[]> processes)
    {
        var before = CpuTicks(processes());
        var saturated = await WrkAsync(url, script, 32, seconds);
        return (saturated, MicrosecondsPerRequest(CpuTicks(processes()) - before, saturated.Requests));
    }

    /// <summary>
    /// Both paths saturated in <see cref="Slices"/> slices of <paramref name="seconds"/> / <see cref="Slices"/> each (whole
    /// seconds, at least one), taken in turns (A B, B A, A B, B A: each path's slices sit at the same mean place), so a
    /// spell of noise on this shared VM falls on both alike and a steady drift cancels: measured, one run of each 30 s
    /// apart differed by up to 17 µs of CPU per request on the same code, from round to round, in either direction. First
    /// one unmeasured second of each, in turns, so that neither starts its slices from the idle the round's other paths
    /// left it in. Requests, errors and CPU are summed over a path's slices; its rate is their mean.
    /// </summary>
    private static async Task<Dictionary<string, (WrkResult Saturated, double CpuMicroseconds)>> InterleavedAsync((string Name, Uri Url, Func<int[]> Processes)[] two, string script, int seconds)
    {
        foreach (var (_, url, _) in two)
        {
            await WrkAsync(url, script, 32, 1);
        }

        var slices = two.ToDictionary(p => p.Name, _ => new List<(WrkResult Run, long Ticks)>());
        var slice = Math.Max(1, seconds / Slices);
        for (var i = 0; i < Slices; i++)
        {
            foreach (var (name, url, processes) in i % 2 == 0 ? two : two.Reverse())
            {
                var before = CpuTicks(processes());
                var run = await WrkAsync(url, script, 32, slice);
                slices[name].Add((run, CpuTicks(processes()) - before));
            }
        }

        return slices.ToDictionary(s => s.Key, s =>
        {
            var requests = s.Value.Sum(x => x.Run.Requests);
            var combined = new WrkResult(s.Value.Average(x => x.Run.RequestsPerSecond), double.NaN, double.NaN, double.NaN, double.NaN, s.Value.Sum(x => x.Run.Errors), requests);
            return (combined, MicrosecondsPerRequest(s.Value.Sum(x => x.Ticks), requests));
        });
    }

    /// <summary>CPU time in clock ticks, per request in µs.</summary>
    private static double MicrosecondsPerRequest(long ticks, long requests) => ticks * (1_000_000.0 / TicksPerSecond) / Math.Max(1, requests);

    /// <summary>The two paths compared in slices taken in turns, each warmed up for longer: the .NET ones.</summary>
    private static bool Paired(string name) => name is "gateway" or "bare-yarp";

    /// <summary>How many slices the gateway's and bare YARP's saturation runs are cut into, each pair of slices in turns.</summary>
    private const int Slices = 4;

    /// <summary><paramref name="items"/> with the ones named <paramref name="first"/> and <paramref name="second"/> in each other's place.</summary>
    private static T[] Swapped<T>(T[] items, Func<T, string> name, string first, string second)
    {
        var order = items.ToArray();
        var (i, j) = (Array.FindIndex(order, p => name(p) == first), Array.FindIndex(order, p => name(p) == second));
        if (i >= 0 && j >= 0)
        {
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    /// <summary>How long after it first answers /healthz a freshly started panel is measured (the issue's rule).</summary>
    private static readonly TimeSpan FreshAfter = TimeSpan.FromSeconds(60);

    private static void Report(Dictionary<string, List<Round>> results, WrkResult fresh, WrkResult freshDirect)
    {
        var table = results.ToDictionary(r => r.Key, r => new
        {
            Rps = Stats.Median(r.Value.Select(x => x.Saturated.RequestsPerSecond)),
            P50 = Stats.Median(r.Value.Select(x => x.Latency.P50Ms)),
            P99 = Stats.Median(r.Value.Select(x => x.Latency.P99Ms)),
            P999 = Stats.Median(r.Value.Select(x => x.Latency.P999Ms)),
            Max = r.Value.Max(x => x.Latency.MaxMs),
            Ttfb50 = Stats.Median(r.Value.Select(x => x.Streaming.TtfbP50Ms)),
            Ttfb99 = Stats.Median(r.Value.Select(x => x.Streaming.TtfbP99Ms)),
            Tokens = Stats.Median(r.Value.Select(x => x.Streaming.TokensPerSecond)),
            Cpu = Stats.Median(r.Value.Select(x => x.CpuMicrosecondsPerRequest)),
        });
        var invariant = CultureInfo.InvariantCulture;
        Console.WriteLine();
        Console.WriteLine("medians            req/s@32   µs CPU/req   p50 ms@4   p99 ms@4  p99.9 ms@4  worst ms@4   ttfb p50   ttfb p99   stream tok/s");
        foreach (var (name, row) in table)
        {
            Console.WriteLine(string.Create(invariant, $"  {name,-14} {row.Rps,10:F0} {row.Cpu,12:F1} {row.P50,10:F2} {row.P99,10:F2} {row.P999,11:F2} {row.Max,11:F2} {row.Ttfb50,10:F2} {row.Ttfb99,10:F2} {row.Tokens,14:F0}"));
        }

        Console.WriteLine(string.Create(invariant, $"  {"gateway fresh",-14} {"",10} {"",12} {fresh.P50Ms,10:F2} {fresh.P99Ms,10:F2} {fresh.P999Ms,11:F2} {fresh.MaxMs,11:F2}   (direct then: p99 {freshDirect.P99Ms:F2} ms)"));

        var gateway = table["gateway"];
        var nginx = table["nginx"];
        var direct = table["direct"];
        var yarp = table["bare-yarp"];
        var caddy = table["caddy"];
        Console.WriteLine();
        Console.WriteLine(string.Create(invariant, $"throughput: gateway / nginx = {gateway.Rps / nginx.Rps:F2}; gateway / direct = {gateway.Rps / direct.Rps:F2}; nginx / direct = {nginx.Rps / direct.Rps:F2}"));
        Console.WriteLine(string.Create(invariant, $"bare YARP (Kestrel + HttpClient + YARP, nothing of ours): bare-yarp / nginx = {yarp.Rps / nginx.Rps:F2}; gateway / bare-yarp = {gateway.Rps / yarp.Rps:F2}"));
        Console.WriteLine(string.Create(invariant, $"caddy: caddy / nginx = {caddy.Rps / nginx.Rps:F2}; gateway / caddy = {gateway.Rps / caddy.Rps:F2}"));
        Console.WriteLine(string.Create(invariant, $"CPU per proxied request at saturation: gateway {gateway.Cpu:F1} µs, bare YARP {yarp.Cpu:F1} µs, caddy {caddy.Cpu:F1} µs, nginx {nginx.Cpu:F1} µs (the upstream's own: {direct.Cpu:F1} µs)"));
        Console.WriteLine(string.Create(invariant, $"added p99 latency @4: gateway {Signed(gateway.P99 - direct.P99, 2)} ms, caddy {Signed(caddy.P99 - direct.P99, 2)} ms, nginx {Signed(nginx.P99 - direct.P99, 2)} ms; added p50: gateway {Signed(gateway.P50 - direct.P50, 2)} ms, caddy {Signed(caddy.P50 - direct.P50, 2)} ms, nginx {Signed(nginx.P50 - direct.P50, 2)} ms"));
        // Our share, round by round: each round's gateway against the bare YARP run next to it, then the median.
        var pairs = results["gateway"].Zip(results["bare-yarp"]).ToArray();
        var cpuGaps = pairs.Select(p => p.First.CpuMicrosecondsPerRequest - p.Second.CpuMicrosecondsPerRequest).ToArray();
        var rpsRatios = pairs.Select(p => p.First.Saturated.RequestsPerSecond / p.Second.Saturated.RequestsPerSecond).ToArray();
        var cpuGap = Stats.Median(cpuGaps);
        var rpsRatio = Stats.Median(rpsRatios);
        Console.WriteLine(string.Create(invariant, $"gateway against bare YARP in turns with it, by round: CPU {string.Join(", ", cpuGaps.Select(g => Signed(g)))} µs per request; throughput {string.Join(", ", rpsRatios.Select(r => r.ToString("F2", invariant)))}x"));
        var cpuOk = cpuGap <= 5;
        var rpsOk = rpsRatio >= 0.95;
        var warmOk = gateway.P99 - direct.P99 <= 1;
        var freshOk = fresh.P99Ms - freshDirect.P99Ms <= 1;
        Console.WriteLine(string.Create(invariant, $"{Verdict.Of(cpuOk)} gateway CPU per request over bare YARP {Signed(cpuGap)} µs (median by round) <= 5 µs"));
        Console.WriteLine(string.Create(invariant, $"{Verdict.Of(rpsOk)} gateway throughput {rpsRatio:F2}x bare YARP (median by round) >= 0.95x"));
        Console.WriteLine(string.Create(invariant, $"{Verdict.Of(warmOk)} added p99 warm {Signed(gateway.P99 - direct.P99, 2)} ms <= 1 ms"));
        Console.WriteLine(string.Create(invariant, $"{Verdict.Of(freshOk)} added p99 fresh {Signed(fresh.P99Ms - freshDirect.P99Ms, 2)} ms <= 1 ms"));
        Console.WriteLine(string.Create(invariant, $"streaming: added ttfb p50 gateway {Signed(gateway.Ttfb50 - direct.Ttfb50, 2)} ms, nginx {Signed(nginx.Ttfb50 - direct.Ttfb50, 2)} ms; tokens/s gateway / nginx = {gateway.Tokens / nginx.Tokens:F2}, gateway / direct = {gateway.Tokens / direct.Tokens:F2}"));
    }

    private static async Task<WrkResult> WrkAsync(Uri url, string script, int connections, int seconds)
    {
        var run = await ProcessRunner.RunAsync("wrk", ["-t", connections >= 4 ? "2" : "1", "-c", connections.ToString(CultureInfo.InvariantCulture), "-d", $"{seconds}s", "-s", script, url.ToString()], TimeSpan.FromSeconds(seconds + 60));
        run.EnsureSuccess("wrk");
        return ParseWrk(run.Stdout);
    }

    /// <summary>Reads wrk's summary: <c>Requests/sec</c>, the script's latency line and any errors.</summary>
    private static WrkResult ParseWrk(string output)
    {
        var rps = RequestsPerSecond().Match(output);
        if (!rps.Success)
        {
            throw new FormatException($"wrk printed no Requests/sec:\n{output}");
        }

        long errors = 0;
        if (NonSuccess().Match(output) is { Success: true } non2xx)
        {
            errors += long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        if (SocketErrors().Match(output) is { Success: true } socket)
        {
            errors += Enumerable.Range(1, 4).Sum(i => long.Parse(socket.Groups[i].Value, CultureInfo.InvariantCulture));
        }

        var requests = TotalRequests().Match(output) is { Success: true } total ? long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        // The script's done() prints p50, p99, p99.9 and the worst request in µs; --latency's table stops at 99 %.
        var tail = Tail().Match(output);
        if (!tail.Success)
        {
            throw new FormatException($"wrk printed no tail line:\n{output}");
        }

        double Ms(int group) => long.Parse(tail.Groups[group].Value, CultureInfo.InvariantCulture) / 1000.0;
        return new WrkResult(double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture), Ms(1), Ms(2), Ms(3), Ms(4), errors, requests);
    }

    /// <summary>Streams chat completions on <paramref name="concurrency"/> connections for a while: TTFB and tokens per second.</summary>
    private static async Task<StreamResult> StreamAsync(Uri url, int concurrency, TimeSpan duration)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, UseProxy = false }) { Timeout = TimeSpan.FromSeconds(60) };
        var ttfb = new List<double>();
        long tokens = 0;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (wall.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(StreamBody, Encoding.UTF8, "application/json") };
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                response.EnsureSuccessStatusCode();
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                var first = true;
                var count = 0;
                while (await reader.ReadLineAsync() is { } line)
                {
                    if (first)
                    {
                        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                        lock (ttfb)
                        {
                            ttfb.Add(elapsed);
                        }

                        first = false;
                    }

                    if (line.StartsWith("data: {", StringComparison.Ordinal) && line.Contains("\"content\":\"", StringComparison.Ordinal) && !line.Contains("\"content\":\"\"", StringComparison.Ordinal))
                    {
                        count++;
                    }
                }

                Interlocked.Add(ref tokens, count);
            }
        }));
        var sorted = ttfb.Order().ToArray();
        return new StreamResult(sorted[sorted.Length / 2], sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(sorted.Length * 0.99) - 1)], tokens / wall.Elapsed.TotalSeconds, sorted.Length);
    }

    /// <summary>The simulated vLLM as its own process, answering at once (no load time, no token delay).</summary>
    private sealed class Upstream(Process process) : IAsyncDisposable
    {
        public int Id => process.Id;

        public static async Task<Upstream> StartAsync(string repository, int port)
        {
            var dll = Built(Path.Combine(repository, "SparkControl.Sim", "bin", "Release", "net10.0", "SparkControl.Sim.dll"));
            var process = Start("dotnet", [dll, "vllm", "serve", "org/bench", "--served-model-name", "bench", "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture)],
                new Dictionary<string, string> { ["SPARKCONTROL_SIM_LOAD_SECONDS"] = "0", ["SPARKCONTROL_SIM_TOKENS_PER_SECOND"] = "0" }, "upstream");
            await WhenReadyAsync(process, "the simulated upstream answers /health", TimeSpan.FromSeconds(60), () => AnswersAsync(new Uri($"http://127.0.0.1:{port}/health")));
            return new Upstream(process);
        }

        public ValueTask DisposeAsync() => StopAsync(process);
    }

    /// <summary>
    /// The panel as it is deployed (its own process, Production, its published runtime config), in demo mode with the bench upstream
    /// added to the demo Spark in services.yaml: the gateway under test.
    /// </summary>
    private sealed class Panel(Process process, Uri baseAddress, long healthyAt) : IAsyncDisposable
    {
        private bool _stopped;

        public int Id => process.Id;

        public Uri BaseAddress => baseAddress;

        /// <summary>Time since the panel first answered <c>/healthz</c>.</summary>
        public TimeSpan SinceHealthy => Stopwatch.GetElapsedTime(healthyAt);

        public static async Task<Panel> StartAsync(string dll, string directory, int port, Uri upstream)
        {
            var data = Directory.CreateDirectory(Path.Combine(directory, "data")).FullName;
            await File.WriteAllTextAsync(Path.Combine(data, "services.yaml"), $"services:\n  - spark: demo\n    name: bench-upstream\n    kind: vllm-llm\n    url: {upstream}\n");

            var process = Start("dotnet", [dll], new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
                ["SparkControl__DataDirectory"] = data,
                // The demo loads no model of its own: its other simulated services idle.
                ["Demo__InitialModel"] = string.Empty,
                ["Gateway__PerClientConcurrency"] = "1024",
                ["Logging__LogLevel__Default"] = "Warning",
            }, "panel", Path.GetDirectoryName(dll));

            var baseAddress = new Uri($"http://127.0.0.1:{port}/");
            await WhenReadyAsync(process, "the panel answers /healthz", TimeSpan.FromSeconds(120), () => AnswersAsync(new Uri(baseAddress, "healthz")));
            var healthyAt = Stopwatch.GetTimestamp();
            await WhenReadyAsync(process, "the gateway routes the bench upstream", TimeSpan.FromSeconds(120), () => AnswersAsync(new Uri(baseAddress, "v1/models"), "\"bench\""));
            return new Panel(process, baseAddress, healthyAt);
        }

        public ValueTask DisposeAsync()
        {
            if (_stopped)
            {
                return ValueTask.CompletedTask;
            }

            _stopped = true;
            return StopAsync(process);
        }
    }

    /// <summary>A proxy under test in a process of its own: bare YARP or caddy.</summary>
    private sealed class ProxyProcess(Process process, Uri baseAddress) : IAsyncDisposable
    {
        public int Id => process.Id;

        public Uri BaseAddress => baseAddress;

        /// <summary>
        /// YARP alone (<see cref="BareYarp"/>), run with the published panel's runtime config (<paramref name="panelRuntimeConfig"/>):
        /// the same GC, thread-pool and other runtime settings, so that what the two paths differ by is the panel's code.
        /// </summary>
        public static Task<ProxyProcess> StartBareYarpAsync(int port, Uri upstream, string panelRuntimeConfig) =>
            StartAsync(Start("dotnet", ["exec", "--runtimeconfig", panelRuntimeConfig, typeof(BareYarp).Assembly.Location, "bare-yarp", port.ToString(CultureInfo.InvariantCulture), upstream.ToString()],
                new Dictionary<string, string>(), "bare-yarp"), port, "bare YARP forwards", TimeSpan.FromSeconds(60));

        /// <summary>
        /// caddy's reverse proxy as a llama-swap user has its like in front of a model server (both Go's net/http
        /// underneath): flushing at once for streams, admin API and HTTPS off.
        /// </summary>
        public static async Task<ProxyProcess> StartCaddyAsync(string directory, int port, Uri upstream)
        {
            var config = Path.Combine(directory, "Caddyfile");
            // The streaming client stops each run mid-stream, and caddy's proxy logs two errors for every stream cut
            // (hundreds a run, burying the figures); the bench counts failed requests itself.
            await File.WriteAllTextAsync(config, $$"""
                {
                    admin off
                    auto_https off
                    log {
                        level ERROR
                        exclude http.handlers.reverse_proxy
                    }
                }
                http://127.0.0.1:{{port}} {
                    reverse_proxy {{upstream.Authority}} {
                        flush_interval -1
                    }
                }
                """);
            // caddy keeps its state under XDG_DATA_HOME and XDG_CONFIG_HOME: inside the bench's directory.
            return await StartAsync(Start("caddy", ["run", "--config", config, "--adapter", "caddyfile"],
                new Dictionary<string, string> { ["XDG_DATA_HOME"] = directory, ["XDG_CONFIG_HOME"] = directory, ["HOME"] = directory }, "caddy"),
                port, "caddy forwards", TimeSpan.FromSeconds(30));
        }

        private static async Task<ProxyProcess> StartAsync(Process process, int port, string what, TimeSpan timeout)
        {
            var baseAddress = new Uri($"http://127.0.0.1:{port}/");
            await WhenReadyAsync(process, what, timeout, () => AnswersAsync(new Uri(baseAddress, "health")));
            return new ProxyProcess(process, baseAddress);
        }

        public ValueTask DisposeAsync() => StopAsync(process);
    }

    /// <summary>nginx as a streaming-friendly reverse proxy would be set up in front of vLLM.</summary>
    private sealed class Nginx(Process process) : IAsyncDisposable
    {
        /// <summary>The master and its workers (the workers do the proxying).</summary>
        public int[] Processes() =>
            [process.Id, .. Directory.EnumerateDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
                .Where(pid => pid > 0 && ParentOf(pid) == process.Id)];

        private static long ParentOf(int pid)
        {
            try
            {
                return Stat(pid, 4);
            }
            catch (IOException)
            {
                // The process has gone since the directory was listed.
                return 0;
            }
        }

        public static async Task<Nginx> StartAsync(string directory, int port, Uri upstream)
        {
            var config = Path.Combine(directory, "nginx.conf");
            await File.WriteAllTextAsync(config, $$"""
                worker_processes auto;
                pid {{directory}}/nginx.pid;
                error_log stderr warn;
                events { worker_connections 1024; }
                http {
                    access_log off;
                    client_body_temp_path {{directory}}/body;
                    proxy_temp_path {{directory}}/proxy;
                    upstream model { server {{upstream.Authority}}; keepalive 64; }
                    server {
                        listen 127.0.0.1:{{port}};
                        location / {
                            proxy_pass http://model;
                            proxy_http_version 1.1;
                            proxy_set_header Connection "";
                            proxy_buffering off;
                            proxy_request_buffering off;
                            proxy_read_timeout 600s;
                        }
                    }
                }
                """);
            var process = Start("nginx", ["-p", directory, "-c", config, "-g", "daemon off;"], new Dictionary<string, string>(), "nginx");
            await WhenReadyAsync(process, "nginx listens", TimeSpan.FromSeconds(10), () => Tools.AcceptsConnectionsAsync(port));
            return new Nginx(process);
        }

        public ValueTask DisposeAsync() => StopAsync(process);
    }

    [GeneratedRegex(@"^tail-us (\d+) (\d+) (\d+) (\d+)$", RegexOptions.Multiline)]
    private static partial Regex Tail();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex TotalRequests();

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();
}
