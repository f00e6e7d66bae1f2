using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Diagnostics.NETCore.Client;
using SparkControl.Tests.Infrastructure;
using static SparkControl.Benchmarks.BenchProcess;

namespace SparkControl.Benchmarks;

/// <summary>The panel's resident memory, threads and live managed heap at one moment of a harness's run.</summary>
internal sealed record PanelSample(TimeSpan At, double RssMiB, int Threads, double HeapMiB);

/// <summary>
/// The panel published and run as deployed (its own process, Production), with a data directory of its own and the
/// settings a harness gives it; measured from /proc and its own /metrics.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed partial class BenchPanel(Process process, Uri baseAddress, string dataDirectory) : IAsyncDisposable
{
    public int Id => process.Id;

    public Uri BaseAddress => baseAddress;

    public string DataDirectory => dataDirectory;

    /// <summary>
    /// Publishes the panel into <paramref name="directory"/> and starts it on a free loopback port with its data in
    /// <c>directory/data</c> (which may already hold sparks.yaml and the like); <paramref name="settings"/> are
    /// environment variables (<c>Section__Key</c>) on top of Production's defaults.
    /// </summary>
    public static async Task<BenchPanel> StartAsync(string repository, string directory, IReadOnlyDictionary<string, string> settings)
    {
        // Published, not run from bin: in Production only a publish output serves the framework's and MudBlazor's
        // static files.
        var published = Path.GetDirectoryName(await PublishAsync(repository, directory))!;
        var data = Directory.CreateDirectory(Path.Combine(directory, "data")).FullName;
        var port = Tools.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["SparkControl__DataDirectory"] = data,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        var process = Start("dotnet", [Path.Combine(published, "SparkControl.Web.dll")], environment, "panel", published);
        var baseUri = new Uri($"http://127.0.0.1:{port}/");
        await WhenReadyAsync(process, "the panel answers /healthz", TimeSpan.FromSeconds(120), () => AnswersAsync(new Uri(baseUri, "healthz")));
        return new BenchPanel(process, baseUri, data);
    }

    /// <summary>
    /// Publishes the panel as the image has it (ReadyToRun, framework-dependent) for this machine into
    /// <c>directory/panel</c>; its main assembly. Built as part of the publish: ReadyToRun needs the machine's runtime
    /// identifier, whose build a plain <c>dotnet build</c> does not make, so a publish without building would take
    /// whatever that build last left.
    /// </summary>
    public static async Task<string> PublishAsync(string repository, string directory)
    {
        var output = Path.Combine(directory, "panel");
        var rid = $"linux-{System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
        Console.WriteLine($"publishing the panel for {rid} (ReadyToRun, as the image has it)");
        (await ProcessRunner.RunAsync("dotnet", ["publish", Path.Combine(repository, "SparkControl.Web", "SparkControl.Web.csproj"), "-c", "Release", "-r", rid,
            "--self-contained", "false", "-o", output, "-nologo", "-v", "quiet"], TimeSpan.FromMinutes(10))).EnsureSuccess("dotnet publish SparkControl.Web");
        return Path.Combine(output, "SparkControl.Web.dll");
    }

    /// <summary>
    /// After a full collection: resident memory and threads from /proc, the managed heap (what is live) from /metrics.
    /// </summary>
    public async Task<PanelSample> SampleAsync(HttpClient api)
    {
        await CollectAsync(api);
        var status = await File.ReadAllTextAsync($"/proc/{process.Id}/status");
        var rss = long.Parse(StatusField(status, "VmRSS").Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        var threads = int.Parse(StatusField(status, "Threads"), CultureInfo.InvariantCulture);
        var metrics = await api.GetStringAsync("/metrics");
        // The heap's size counts the free space between objects too (fragmentation, what a collection that does not
        // compact leaves behind); what is live is the rest.
        static double Sum(Regex metric, string text) => metric.Matches(text).Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        var heap = (Sum(HeapSize(), metrics) - Sum(HeapFragmentation(), metrics)) / (1024 * 1024);
        return new PanelSample(TimeSpan.Zero, rss, threads, heap);
    }

    /// <summary>The panel's open file descriptors (sockets, pipes and files).</summary>
    public int OpenDescriptors() => Directory.GetFiles($"/proc/{process.Id}/fd").Length;

    /// <summary>
    /// A full blocking collection in the panel, asked for over the runtime's diagnostics port the way dotnet-gcdump
    /// does (the GC heap-collect keyword on an EventPipe session); returns once /metrics counts one more gen2
    /// collection. Afterwards the managed heap is what is live, not what has not been collected yet.
    /// </summary>
    private async Task CollectAsync(HttpClient api)
    {
        async Task<double> Gen2() => Gen2Collections().Match(await api.GetStringAsync("/metrics")) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var before = await Gen2();
        const long GcHeapCollect = 0x800000;
        const long Gc = 0x1;
        using var session = new DiagnosticsClient(process.Id).StartEventPipeSession(
            new EventPipeProvider("Microsoft-Windows-DotNETRuntime", System.Diagnostics.Tracing.EventLevel.Informational, GcHeapCollect | Gc), requestRundown: false);
        var drain = session.EventStream.CopyToAsync(Stream.Null);
        await Wait.UntilAsync(async () => await Gen2() > before, "the panel runs a full collection", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
        await session.StopAsync(CancellationToken.None);
        await drain;
    }

    /// <summary>
    /// A sample once the live heap stops falling (closed circuits released), up to 30 s. A circuit client's close is
    /// done when its disconnect returns, but a closed Chromium page's beacon is not, so this waits rather than
    /// sampling once.
    /// </summary>
    public async Task<PanelSample> SettledAsync(HttpClient api, PanelSample reference)
    {
        var last = await SampleAsync(api);
        try
        {
            await Wait.UntilAsync(async () =>
            {
                var now = await SampleAsync(api);
                var settled = now.HeapMiB >= last.HeapMiB - 0.5 || now.HeapMiB <= reference.HeapMiB;
                last = now;
                return settled;
            }, "the panel's memory settles", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(3));
        }
        catch (TimeoutException)
        {
            // Still falling after 30 s: report what it is now.
        }

        return last;
    }

    private static string StatusField(string status, string name) =>
        status.Split('\n').First(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..].Trim();

    public ValueTask DisposeAsync() => StopAsync(process);

    [GeneratedRegex(@"^dotnet_gc_collections_total\{[^}]*gc_heap_generation=""gen2""[^}]*\} ([\d.e+]+)", RegexOptions.Multiline)]
    private static partial Regex Gen2Collections();

    [GeneratedRegex(@"^dotnet_gc_last_collection_heap_size_bytes\{[^}]*\} ([\d.e+]+)", RegexOptions.Multiline)]
    private static partial Regex HeapSize();

    [GeneratedRegex(@"^dotnet_gc_last_collection_heap_fragmentation_size_bytes\{[^}]*\} ([\d.e+]+)", RegexOptions.Multiline)]
    private static partial Regex HeapFragmentation();
}
