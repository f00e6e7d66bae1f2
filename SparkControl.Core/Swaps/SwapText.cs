using System.Globalization;
using System.Text.RegularExpressions;
using SparkControl.Core.Hosts;

namespace SparkControl.Core.Swaps;

/// <summary>Reads what a model server's log says about its start, and why a container died.</summary>
public static partial class SwapText
{
    /// <summary>The last step of a start-up: once the log has shown it, it has shown every step before it.</summary>
    public const string StartedStep = "application started";

    /// <summary>The loading step a vLLM log line announces, or null for the many lines that announce none.</summary>
    public static string? LoadingStep(string line)
    {
        if (line.Contains("Starting to load model", StringComparison.Ordinal))
        {
            return "loading weights";
        }

        if (LoadingWeights().Match(line) is { Success: true } weights)
        {
            return $"weights loaded in {weights.Groups[1].Value} s";
        }

        if (KvCache().Match(line) is { Success: true } kv)
        {
            return $"KV cache: {kv.Groups[1].Value} tokens";
        }

        if (Concurrency().Match(line) is { Success: true } concurrency)
        {
            return $"maximum concurrency {concurrency.Groups[2].Value}× at {concurrency.Groups[1].Value} tokens";
        }

        if (line.Contains("Capturing CUDA graph", StringComparison.Ordinal))
        {
            return "capturing CUDA graphs";
        }

        if (line.Contains("Starting vLLM API server", StringComparison.Ordinal))
        {
            return "API server starting";
        }

        return line.Contains("Application startup complete", StringComparison.Ordinal) ? StartedStep : null;
    }

    /// <summary>A line after which vLLM will not come up: the engine died, memory ran out, or a setting was refused.</summary>
    public static bool IsFatal(string line) =>
        line.Contains("Engine core initialization failed", StringComparison.Ordinal)
        || line.Contains("EngineCore failed to start", StringComparison.Ordinal)
        || line.Contains("CUDA out of memory", StringComparison.Ordinal)
        || line.Contains("OutOfMemoryError", StringComparison.Ordinal)
        || line.StartsWith("ValueError:", StringComparison.Ordinal)
        || line.Contains("error: unrecognized arguments", StringComparison.Ordinal);

    /// <summary>
    /// Why a model container stopped, in words an operator can act on: out of memory, a refused setting, weights that
    /// could not be fetched, or the last error line it printed.
    /// </summary>
    public static string ExplainExit(ContainerInfo? info, IReadOnlyList<string> logs)
    {
        var exit = info?.ExitCode;
        var errorLine = logs.LastOrDefault(l => ErrorLine().IsMatch(l))?.Trim();
        if (info?.OomKilled == true || exit == 137 || logs.Any(l => l.Contains("CUDA out of memory", StringComparison.Ordinal) || l.Contains("OutOfMemoryError", StringComparison.Ordinal)))
        {
            return "out of memory: lower gpu-memory-utilization or max-model-len, or stop a co-resident service" +
                   (info?.OomKilled == true ? " (the kernel killed the container: OOMKilled)" : string.Empty);
        }

        if (logs.Any(l => l.Contains("unrecognized arguments", StringComparison.Ordinal) || l.Contains(": error: argument", StringComparison.Ordinal)))
        {
            return $"vLLM refused its command line: {logs.Last(l => l.Contains("error", StringComparison.Ordinal)).Trim()}. Fix the model's flags on the Models page.";
        }

        if (logs.Any(l => l.Contains("ValueError", StringComparison.Ordinal)))
        {
            return $"vLLM refused a setting: {logs.Last(l => l.Contains("ValueError", StringComparison.Ordinal)).Trim()}. Fix the model's flags on the Models page.";
        }

        if (logs.Any(l => l.Contains("RepositoryNotFoundError", StringComparison.Ordinal) || l.Contains("GatedRepoError", StringComparison.Ordinal) || l.Contains("401 Client Error", StringComparison.Ordinal)))
        {
            return "the weights could not be fetched: check the repository name, and set the HF token in Settings for a gated model";
        }

        var code = exit is { } value ? $" with code {value.ToString(CultureInfo.InvariantCulture)}" : string.Empty;
        return errorLine is null ? $"the container exited{code}" : $"the container exited{code}: {errorLine}";
    }

    [GeneratedRegex(@"Loading weights took ([0-9.]+) seconds", RegexOptions.CultureInvariant)]
    private static partial Regex LoadingWeights();

    [GeneratedRegex(@"GPU KV cache size: ([0-9,]+) tokens", RegexOptions.CultureInvariant)]
    private static partial Regex KvCache();

    [GeneratedRegex(@"Maximum concurrency for ([0-9,]+) tokens per request: ([0-9.]+)x", RegexOptions.CultureInvariant)]
    private static partial Regex Concurrency();

    [GeneratedRegex(@"(Error|ERROR|Exception|error:)", RegexOptions.CultureInvariant)]
    private static partial Regex ErrorLine();
}

/// <summary>Progress and time left of a swap, from the expected duration of each phase it will pass.</summary>
public static class SwapEta
{
    /// <summary>
    /// Expected phase durations when a model has no history: a few seconds for the quick phases, the download at
    /// the speed seen so far, and loading by size (reading the weights, then CUDA graphs and the KV cache).
    /// </summary>
    public static IReadOnlyDictionary<SwapPhase, TimeSpan> Fallback(double sizeGiB) => new Dictionary<SwapPhase, TimeSpan>
    {
        [SwapPhase.Preflight] = TimeSpan.FromSeconds(1),
        [SwapPhase.Downloading] = TimeSpan.FromSeconds(sizeGiB * 10),
        [SwapPhase.Draining] = TimeSpan.FromSeconds(1),
        [SwapPhase.Stopping] = TimeSpan.FromSeconds(5),
        [SwapPhase.Launching] = TimeSpan.FromSeconds(3),
        [SwapPhase.Loading] = TimeSpan.FromSeconds(20 + (sizeGiB * 4)),
        [SwapPhase.Verifying] = TimeSpan.FromSeconds(1),
    };

    /// <summary>
    /// The fraction done and the time left: finished phases count whole, the current one by its elapsed time (capped
    /// at what it is expected to take) or, while downloading, by the bytes fetched. A time left is given only when it
    /// rests on something measured: this model's past swaps (<paramref name="fromHistory"/>) for the whole swap, or,
    /// without them, the bytes fetched so far for the download alone. A guess from the size is no time to show: it
    /// said "about 63 s left" of a swap that took 3 s.
    /// </summary>
    public static (double Progress, TimeSpan? Eta) Estimate(
        IReadOnlyList<SwapPhase> plan,
        SwapPhase current,
        TimeSpan elapsedInCurrent,
        IReadOnlyDictionary<SwapPhase, TimeSpan> expected,
        DownloadStatus? download,
        bool fromHistory)
    {
        if (current == SwapPhase.Ready)
        {
            return (1, TimeSpan.Zero);
        }

        var index = plan.ToList().IndexOf(current);
        if (index < 0 || plan.Count == 0)
        {
            return (0, null);
        }

        TimeSpan Expect(SwapPhase phase) => expected.TryGetValue(phase, out var value) ? value : TimeSpan.FromSeconds(1);
        var total = plan.Aggregate(TimeSpan.Zero, (sum, phase) => sum + Expect(phase));
        var done = plan.Take(index).Aggregate(TimeSpan.Zero, (sum, phase) => sum + Expect(phase));
        var expectedNow = Expect(current);
        var downloadLeft = current == SwapPhase.Downloading && download?.Fraction is { } fraction and > 0
            ? TimeSpan.FromSeconds(elapsedInCurrent.TotalSeconds * (1 - fraction) / fraction)
            : (TimeSpan?)null;
        var currentLeft = downloadLeft ?? (expectedNow > elapsedInCurrent ? expectedNow - elapsedInCurrent : TimeSpan.FromSeconds(1));
        var currentDone = current == SwapPhase.Downloading && download?.Fraction is { } f
            ? expectedNow * f
            : elapsedInCurrent < expectedNow ? elapsedInCurrent : expectedNow * 0.95;
        var later = total - done - expectedNow;
        var progress = total <= TimeSpan.Zero ? 0 : Math.Clamp((done + currentDone) / total, 0, 0.99);
        return (progress, fromHistory ? currentLeft + later : downloadLeft);
    }
}
