using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Audio.Sweep;

/// <summary>An audio file a sweep sends, held in memory (sweep files are short test speech).</summary>
public sealed record SweepFile(string Name, byte[] Content);

/// <summary>How a sweep ramps: concurrency 1, 2, … up to <see cref="MaxConcurrency"/>, stopping early at the p95 bound or an error.</summary>
public sealed record SweepSettings
{
    public int MaxConcurrency { get; init; } = 8;

    /// <summary>Requests each step sends (at least twice its concurrency).</summary>
    public int RequestsPerStep { get; init; } = 8;

    /// <summary>A step whose p95 latency is above this ends the sweep.</summary>
    public TimeSpan P95Bound { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Settings from what an operator typed (the API's body, the page's fields, the command's options), defaults for
    /// what is missing. A bound no TimeSpan can hold (NaN, too large) becomes zero, which <see cref="Validate"/> refuses.
    /// </summary>
    public static SweepSettings From(int? maxConcurrency, int? requestsPerStep, double? p95BoundSeconds)
    {
        var defaults = new SweepSettings();
        return new SweepSettings
        {
            MaxConcurrency = maxConcurrency ?? defaults.MaxConcurrency,
            RequestsPerStep = requestsPerStep ?? defaults.RequestsPerStep,
            P95Bound = p95BoundSeconds switch
            {
                null => defaults.P95Bound,
                var seconds when double.IsFinite(seconds.Value) && Math.Abs(seconds.Value) < 86_400 => TimeSpan.FromSeconds(seconds.Value),
                _ => TimeSpan.Zero,
            },
        };
    }

    public const int MostConcurrency = 32;
    public const int MostRequestsPerStep = 200;

    /// <summary>Every rule the form and the API share, as field errors.</summary>
    public IReadOnlyList<FieldError> Validate()
    {
        var errors = new List<FieldError>();
        if (MaxConcurrency is < 1 or > MostConcurrency)
        {
            errors.Add(new FieldError("maxConcurrency", $"maxConcurrency must be between 1 and {MostConcurrency}, not {MaxConcurrency}"));
        }

        if (RequestsPerStep is < 1 or > MostRequestsPerStep)
        {
            errors.Add(new FieldError("requestsPerStep", $"requestsPerStep must be between 1 and {MostRequestsPerStep}, not {RequestsPerStep}"));
        }

        if (P95Bound < TimeSpan.FromSeconds(0.1) || P95Bound > TimeSpan.FromMinutes(10))
        {
            errors.Add(new FieldError("p95BoundSeconds", $"p95BoundSeconds must be between 0.1 and 600, not {P95Bound.TotalSeconds.ToString(CultureInfo.InvariantCulture)}"));
        }

        return errors;
    }
}

/// <summary>One concurrency level's figures.</summary>
public sealed record SweepStep(int Concurrency, int Requests, int Errors, double Throughput, double P50Seconds, double P95Seconds, string? FirstError);

/// <summary>Where a running sweep is: the step it is on and the requests of it done.</summary>
public sealed record SweepProgress(int Concurrency, int Done, int Of);

/// <summary>
/// Ramps concurrency against one worker's transcription endpoint (directly, not through the gateway's caps) with a
/// fixed set of files, and measures each step: throughput, p50 and p95 latency, errors. It stops at an error, at the
/// p95 bound, at the highest concurrency, or two steps past the knee (throughput no longer grows by more than 5%).
/// </summary>
public sealed class SweepRunner(HttpMessageInvoker http, TimeProvider time)
{
    /// <summary>A step within this share of the best throughput counts as reaching it.</summary>
    public const double KneeShare = 0.95;

    /// <summary>
    /// The knee: the smallest concurrency whose throughput is within 5% of the best of the steps without errors;
    /// null when no step succeeded.
    /// </summary>
    public static int? KneeOf(IReadOnlyList<SweepStep> steps)
    {
        var clean = steps.Where(s => s.Errors == 0 && s.Throughput > 0).ToList();
        if (clean.Count == 0)
        {
            return null;
        }

        var best = clean.Max(s => s.Throughput);
        return clean.Where(s => s.Throughput >= KneeShare * best).Min(s => s.Concurrency);
    }

    /// <summary>Runs the sweep; <paramref name="stepDone"/> gets every step as it ends, <paramref name="progress"/> every request.</summary>
    public async Task<(ImmutableArray<SweepStep> Steps, string StopReason)> RunAsync(
        Uri endpoint, string model, IReadOnlyList<SweepFile> files, SweepSettings settings, Action<SweepStep> stepDone, Action<SweepProgress> progress, CancellationToken cancellationToken)
    {
        var steps = ImmutableArray.CreateBuilder<SweepStep>();
        for (var concurrency = 1; ; concurrency++)
        {
            var step = await StepAsync(endpoint, model, files, settings, concurrency, progress, cancellationToken).ConfigureAwait(false);
            steps.Add(step);
            stepDone(step);
            if (StopReason(steps, step, settings) is { } reason)
            {
                return (steps.ToImmutable(), reason);
            }
        }
    }

    /// <summary>Why the sweep stops after <paramref name="step"/> (the last of <paramref name="steps"/>); null to go on.</summary>
    internal static string? StopReason(IReadOnlyList<SweepStep> steps, SweepStep step, SweepSettings settings)
    {
        if (step.Errors > 0)
        {
            return $"{step.Errors} of {step.Requests} requests failed at concurrency {step.Concurrency} ({step.FirstError})";
        }

        if (step.P95Seconds > settings.P95Bound.TotalSeconds)
        {
            return string.Create(CultureInfo.InvariantCulture, $"p95 {step.P95Seconds:0.00} s passed the bound of {settings.P95Bound.TotalSeconds:0.##} s at concurrency {step.Concurrency}");
        }

        if (step.Concurrency >= settings.MaxConcurrency)
        {
            return $"reached the highest concurrency, {settings.MaxConcurrency}";
        }

        // Two steps past the knee without leaving it: more concurrency only queues inside the worker.
        return KneeOf(steps) is { } knee && step.Concurrency >= knee + 2 ? $"throughput stopped growing after concurrency {knee}" : null;
    }

    private async Task<SweepStep> StepAsync(Uri endpoint, string model, IReadOnlyList<SweepFile> files, SweepSettings settings, int concurrency, Action<SweepProgress> progress, CancellationToken cancellationToken)
    {
        var total = Math.Max(settings.RequestsPerStep, 2 * concurrency);
        var next = -1;
        var done = 0;
        var latencies = new List<double>();
        var errors = new List<string>();
        var started = time.GetTimestamp();
        progress(new SweepProgress(concurrency, 0, total));

        async Task LoopAsync()
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < total)
            {
                var (seconds, error) = await SendAsync(endpoint, model, files[index % files.Count], settings, cancellationToken).ConfigureAwait(false);
                lock (latencies)
                {
                    if (error is null)
                    {
                        latencies.Add(seconds);
                    }
                    else
                    {
                        errors.Add(error);
                    }
                }

                progress(new SweepProgress(concurrency, Interlocked.Increment(ref done), total));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => LoopAsync())).ConfigureAwait(false);
        var elapsed = time.GetElapsedTime(started).TotalSeconds;
        latencies.Sort();
        return new SweepStep(concurrency, total, errors.Count, elapsed > 0 ? latencies.Count / elapsed : 0, Percentile(latencies, 0.50), Percentile(latencies, 0.95), errors.FirstOrDefault());
    }

    /// <summary>One request; a request slower than twice the p95 bound is given up as an error (a hung worker cannot hang the sweep).</summary>
    private async Task<(double Seconds, string? Error)> SendAsync(Uri endpoint, string model, SweepFile file, SweepSettings settings, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.P95Bound * 2 + TimeSpan.FromSeconds(5));
        using var form = new MultipartFormDataContent
        {
            { new StringContent(model), "model" },
            { new StringContent("json"), "response_format" },
        };
        var audio = new ByteArrayContent(file.Content);
        audio.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(audio, "file", file.Name);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(endpoint, "v1/audio/transcriptions")) { Content = form };
        var started = time.GetTimestamp();
        try
        {
            using var response = await http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            await response.Content.LoadIntoBufferAsync(timeout.Token).ConfigureAwait(false);
            var seconds = time.GetElapsedTime(started).TotalSeconds;
            return response.IsSuccessStatusCode ? (seconds, null) : (seconds, $"HTTP {(int)response.StatusCode}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (0, "no answer within twice the p95 bound");
        }
        catch (HttpRequestException ex)
        {
            return (0, ex.HttpRequestError.ToString());
        }
    }

    /// <summary>Nearest rank on sorted values; 0 for none.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double share)
    {
        Debug.Assert(sorted.Zip(sorted.Skip(1)).All(p => p.First <= p.Second), "sorted");
        return sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(share * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}
