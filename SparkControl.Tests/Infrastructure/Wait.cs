using System.Diagnostics;

namespace SparkControl.Tests.Infrastructure;

/// <summary>Waits for a condition with a timeout: tests never sleep for a fixed time.</summary>
public static class Wait
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// For what waits on a program started in a container (the Sim's .NET in the test dockerd): on a loaded two-core
    /// machine the container's start alone took over 30 s.
    /// </summary>
    public static readonly TimeSpan ContainerTimeout = TimeSpan.FromSeconds(120);

    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null, TimeSpan? poll = null)
    {
        await UntilAsync(() => Task.FromResult(condition()), what, timeout, poll);
    }

    /// <summary>
    /// Polls <paramref name="condition"/> until true; <paramref name="poll"/> fixes the pause between checks (loops that
    /// move a fake clock want it short). On a timeout, <paramref name="describe"/> adds what was seen instead, so a
    /// failure on a CI machine says why without a second run.
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, TimeSpan? poll = null, Func<Task<string>>? describe = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var watch = Stopwatch.StartNew();
        var delay = poll ?? TimeSpan.FromMilliseconds(20);
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (watch.Elapsed > limit)
            {
                var seen = describe is null ? string.Empty : $" Seen instead: {await describe()}";
                throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting until {what}.{seen}");
            }

            await Task.Delay(delay);
            if (poll is null)
            {
                delay = TimeSpan.FromMilliseconds(Math.Min(250, delay.TotalMilliseconds * 1.5));
            }
        }
    }

    /// <summary>Reads <paramref name="source"/> until an item satisfies <paramref name="match"/>.</summary>
    public static async Task<T> ForAsync<T>(IAsyncEnumerable<T> source, Func<T, bool> match, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await foreach (var item in source.WithCancellation(cts.Token))
            {
                if (match(item))
                {
                    return item;
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }

        throw new TimeoutException($"Timed out waiting for {what}.");
    }
}
