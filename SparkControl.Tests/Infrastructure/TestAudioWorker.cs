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
    public static byte[] SilentWav(double seconds)
    {
        var samples = (int)(16_000 * seconds);
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write("RIFF"u8);
        writer.Write(36 + (samples * 2));
        writer.Write("WAVEfmt "u8);
        writer.Write(16);
        writer.Write((short)1);
        writer.Write((short)1);
        writer.Write(16_000);
        writer.Write(32_000);
        writer.Write((short)2);
        writer.Write((short)16);
        writer.Write("data"u8);
        writer.Write(samples * 2);
        writer.Write(new byte[samples * 2]);
        return stream.ToArray();
    }
}
