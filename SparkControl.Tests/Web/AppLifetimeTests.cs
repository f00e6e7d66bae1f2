using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using SparkControl.Core.Services;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// A stopped panel leaves nothing running that keeps it: its whole object graph can be collected. Each leak of this
/// kind cost a test run the memory of every app it had started (gigabytes by the end), and in the product it would be
/// the memory of every restart of the host inside one process.
/// </summary>
public sealed class AppLifetimeTests
{
    [Fact]
    public async Task AStoppedPanel_AfterServingTheGatewayAndTheApi_IsCollected()
    {
        // The first app of a process also makes process-wide singletons (OpenTelemetry's self-diagnostics refresher,
        // SQLite's connection factory) whose timers keep the context of their making: that is one app per process, not
        // one per app, so the app measured is the second.
        await RunAndStopAsync();
        var stopped = await RunAndStopAsync();

        await Wait.UntilAsync(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return !stopped.TryGetTarget(out _);
        }, "the stopped panel's health monitor (and with it the app) is collected", TimeSpan.FromSeconds(60));
    }

    // Not inlined, so no local of the caller's frame keeps the app.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference<HealthMonitor>> RunAndStopAsync()
    {
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();
        await Wait.UntilAsync(async () => (await client.GetStringAsync("/v1/models")).Contains("\"qwen3-8b\"", StringComparison.Ordinal), "the gateway serves qwen3-8b", TimeSpan.FromSeconds(60));
        using var chat = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "qwen3-8b", max_tokens = 2, messages = new[] { new { role = "user", content = "hi" } } });
        chat.EnsureSuccessStatusCode();
        (await client.GetFromJsonAsync<JsonElement>("/api/sparks")).GetArrayLength();
        return new WeakReference<HealthMonitor>(app.Get<HealthMonitor>());
    }
}
