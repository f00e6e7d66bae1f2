using System.Net.Http.Json;
using System.Text.Json;

namespace SparkControl.Tests.Infrastructure;

/// <summary>Swaps through the panel's API, as a client script drives them.</summary>
public static class SwapApi
{
    /// <summary>Starts a swap to <paramref name="model"/> on spark-1 and returns its id.</summary>
    public static async Task<string> StartAsync(HttpClient client, string model) =>
        await TryStartAsync(client, model, "spark-1") ?? throw new InvalidOperationException($"A swap already holds spark-1; the swap to {model} did not start.");

    /// <summary>Starts a swap to <paramref name="model"/> on <paramref name="spark"/> and returns its id; null when another swap holds the Spark (409).</summary>
    public static async Task<string?> TryStartAsync(HttpClient client, string model, string spark)
    {
        using var start = await client.PostAsJsonAsync("/api/swaps", new { model, spark });
        if (start.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            return null;
        }

        start.EnsureSuccessStatusCode();
        return (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    /// <summary>The swap once <paramref name="condition"/> holds for it (read again and again, up to two minutes).</summary>
    public static async Task<JsonElement> WaitForAsync(HttpClient client, string id, Func<JsonElement, bool> condition, string what)
    {
        JsonElement swap = default;
        await Wait.UntilAsync(async () => condition(swap = await client.GetFromJsonAsync<JsonElement>($"/api/swaps/{id}")), what, Wait.ContainerTimeout,
            describe: () => Task.FromResult(Describe(swap)));
        return swap;
    }

    /// <summary>
    /// Waits for the swap's end and requires it to be ready; otherwise fails with its phase, message and steps, so a
    /// swap that failed on a CI machine says why instead of a later step failing on what it did not leave behind.
    /// </summary>
    public static async Task<JsonElement> WaitForReadyAsync(HttpClient client, string id, string what)
    {
        var swap = await WaitForAsync(client, id, Ended, what);
        return swap.GetProperty("phase").GetString() == "ready" ? swap : throw new InvalidOperationException($"Expected {what}, but the swap ended {Describe(swap)}");
    }

    /// <summary>The swap's phase, message and steps in one line for a failure message.</summary>
    public static string Describe(JsonElement swap) => swap.ValueKind != JsonValueKind.Object
        ? "no swap read yet"
        : $"{swap.GetProperty("phase").GetString()}: {(swap.TryGetProperty("message", out var m) ? m.ToString() : "")}; steps: "
          + string.Join(" | ", swap.TryGetProperty("steps", out var steps) ? steps.EnumerateArray().Select(s => s.TryGetProperty("text", out var t) ? t.GetString() : s.ToString()) : []);

    public static bool Ended(JsonElement swap) => swap.GetProperty("phase").GetString() is "ready" or "failed" or "cancelled" or "interrupted";

    /// <summary>Starts a swap and waits for its end.</summary>
    public static async Task<JsonElement> SwapAsync(HttpClient client, string model) =>
        await WaitForAsync(client, await StartAsync(client, model), Ended, $"the swap to {model} ends");
}
