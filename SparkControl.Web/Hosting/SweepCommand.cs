using System.Globalization;
using SparkControl.Core.Audio.Sweep;
using SparkControl.Core.Gateway;

namespace SparkControl.Web.Hosting;

/// <summary>
/// <c>SparkControl.Web sweep --url URL --model NAME [--max N] [--requests N] [--p95 SECONDS] [--file F]…</c>: the
/// concurrency sweep from a terminal, against a worker's address, printing each step and the knee. It sends the
/// shipped test speech unless files are given.
/// </summary>
public static class SweepCommand
{
    public const string Usage = "usage: SparkControl.Web sweep --url http://spark-1:9000/ --model parakeet-tdt-0.6b-v2 [--max 8] [--requests 8] [--p95 30] [--file speech.wav]...";

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (Parse(args, out var problem) is not { } command)
        {
            await error.WriteLineAsync(problem);
            await error.WriteLineAsync(Usage);
            return 2;
        }

        var (url, model, settings, files) = command;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Sweeping {url} ({model}) up to concurrency {settings.MaxConcurrency}, {settings.RequestsPerStep} requests a step, p95 bound {settings.P95Bound.TotalSeconds:0.##} s"));
        await output.WriteLineAsync("concurrency  requests  errors  throughput/s  p50 s   p95 s");
        using var http = new HttpMessageInvoker(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) });
        var runner = new SweepRunner(http, TimeProvider.System);
        var (steps, reason) = await runner.RunAsync(url, model, files, settings,
            step => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{step.Concurrency,11}  {step.Requests,8}  {step.Errors,6}  {step.Throughput,12:0.00}  {step.P50Seconds,6:0.00}  {step.P95Seconds,6:0.00}")),
            _ => { }, cancellationToken);
        await output.WriteLineAsync($"Stopped: {reason}.");
        await output.WriteLineAsync(SweepRunner.KneeOf(steps) is { } knee
            ? $"Knee: {knee} (the smallest concurrency within 5% of the best throughput); set maxInFlight: {knee} and measuredKnee: {knee} in services.yaml."
            : "No knee: no step succeeded.");
        return 0;
    }

    private sealed record Command(Uri Url, string Model, SweepSettings Settings, List<SweepFile> Files);

    private static Command? Parse(IReadOnlyList<string> args, out string problem)
    {
        string? url = null, model = null;
        int? max = null, requests = null;
        double? bound = null;
        var files = new List<SweepFile>();
        problem = string.Empty;
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            switch (args[i])
            {
                case "--url": url = value; break;
                case "--model": model = value; break;
                case "--max" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number): max = number; break;
                case "--requests" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number): requests = number; break;
                case "--p95" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds): bound = seconds; break;
                case "--file" when value is not null && File.Exists(value):
                    var bytes = File.ReadAllBytes(value);
                    if (AudioFormat.NotAudio(bytes, value) is { } notAudio)
                    {
                        problem = notAudio;
                        return null;
                    }

                    files.Add(new SweepFile(Path.GetFileName(value), bytes));
                    break;
                default:
                    problem = $"'{args[i]}' {(value is null ? "needs a value" : $"does not take '{value}'")}";
                    return null;
            }

            i++;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(model))
        {
            problem = "--url (an http address of the worker) and --model are required";
            return null;
        }

        var settings = SweepSettings.From(max, requests, bound);
        if (settings.Validate() is [var first, ..])
        {
            problem = first.Message;
            return null;
        }

        return new Command(uri, model, settings, files.Count > 0 ? files : [AudioSweeps.ShippedSpeech()]);
    }
}
