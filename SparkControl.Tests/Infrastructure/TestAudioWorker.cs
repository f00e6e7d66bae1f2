using System.Globalization;
using System.Net;
using SparkControl.Core.Gateway;
using SparkControl.Sim.Audio;
using SparkControl.Sim.Server;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// A simulated ASR worker of a test's own on a loopback port (gated, of known capacity, or pocketsphinx), added to
/// the demo Spark through services.yaml. Stopped gracefully: requests in flight finish, new connections are refused.
/// </summary>
public sealed class TestAudioWorker : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<int> _running;

    public TestAudioWorker(ISimTranscriber transcriber)
    {
        Transcriber = transcriber;
        Port = Tools.FreePort();
        var server = new SimServiceServer(SimServiceProfile.ParakeetAsr(TimeProvider.System, transcriber), TimeSpan.Zero, TimeProvider.System, _ => { }, new IPEndPoint(IPAddress.Loopback, Port));
        _running = server.RunAsync(_stop.Token);
    }

    public ISimTranscriber Transcriber { get; }

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _running;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }

    /// <summary>services.yaml with each worker as a parakeet-asr service on the demo Spark answering to <c>test-asr</c>.</summary>
    public static string ServicesYaml(params (string Name, int Port, int Cap)[] workers) =>
        "services:\n" + string.Concat(workers.Select(w => string.Create(CultureInfo.InvariantCulture,
            $"  - spark: demo\n    name: {w.Name}\n    kind: parakeet-asr\n    url: http://127.0.0.1:{w.Port}/\n    healthPath: /health\n    models:\n      - name: test-asr\n    maxInFlight: {w.Cap}\n")));

    /// <summary>Waits until the gateway sees each named worker Healthy (it routes only to those).</summary>
    public static Task WaitHealthyAsync(SparkControlApp app, params string[] services) => Wait.UntilAsync(
        () => services.All(n => app.Get<AudioRoutes>().Workers().Any(w => w.Service == n && w.Healthy)),
        "health sees every test worker Healthy", TimeSpan.FromSeconds(60));

    /// <summary>A 16 kHz mono WAV of silence, <paramref name="seconds"/> long.</summary>
    public static byte[] SilentWav(double seconds) => SparkControl.Core.Audio.Signal.WavFile.Write16(16_000, new float[(int)(16_000 * seconds)]);
}
