using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Sim.Hosting;

namespace SparkControl.Tests.Infrastructure;

/// <summary>Swaps on the demo Spark, as the browser tests drive them: the demo ready to swap, and a swap held at Loading.</summary>
public static class DemoSwaps
{
    /// <summary>The demo with its first model Ready; <paramref name="settings"/> on top of the test defaults.</summary>
    public static async Task<SparkControlApp> StartDemoAsync(Dictionary<string, string?>? settings = null)
    {
        var app = await SparkControlApp.StartAsync(settings);
        using var client = app.CreateClient();
        await Wait.UntilAsync(async () =>
        {
            var current = await client.GetFromJsonAsync<JsonElement>("/api/swaps/current");
            return current.TryGetProperty("demo", out var demo) && demo.GetProperty("phase").GetString() == "ready";
        }, "the demo's first swap is ready", TimeSpan.FromSeconds(60));
        return app;
    }

    /// <summary>Starts a swap on the demo Spark and returns its id.</summary>
    public static async Task<string> StartSwapAsync(HttpClient client, string model, params string[] stopServices)
    {
        using var response = await client.PostAsJsonAsync("/api/swaps", new { model, spark = "demo", stopServices });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    /// <summary>
    /// Starts a swap to <paramref name="model"/> whose container does not finish loading until the test completes the
    /// returned hold; returns once the swap is Loading.
    /// </summary>
    public static async Task<(string Id, TaskCompletionSource Loading)> StartHeldAtLoadingAsync(SparkControlApp app, HttpClient client, string model)
    {
        var loading = app.Get<SimulatedSparkHost>().HoldNextLaunch();
        var id = await StartSwapAsync(client, model);
        await SwapApi.WaitForAsync(client, id, s => s.GetProperty("phase").GetString() == "loading", $"the swap to {model} loads");
        return (id, loading);
    }
}
