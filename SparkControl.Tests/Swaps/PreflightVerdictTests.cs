using SparkControl.Core.Catalog;
using SparkControl.Core.Swaps;

namespace SparkControl.Tests.Swaps;

/// <summary>The confirm dialog's verdict is the swap's own Preflight: the same blockers, in the same words.</summary>
public sealed class PreflightVerdictTests
{
    private static void AddModels(SwapWorld world, params ModelDefinition[] models) =>
        world.Catalog.Publish(new CatalogSnapshot([.. SwapWorld.Models, .. models], []));

    [Fact]
    public void Budget_TheModelAndTheReserveMustBeFree_NotTheModelAlone()
    {
        var budget = new MemoryBudget
        {
            Spark = "demo",
            TotalGiB = 121.7,
            AvailableGiB = 64.2,
            ReserveGiB = 4,
            Model = new BudgetItem("llama", 112, "gpu-memory-utilization 0.92 × MemTotal"),
            Freed = [new BudgetItem("old", 36.5, "reservation"), new BudgetItem("services", 14, "estimates")],
        };

        Assert.True(budget.FitsPlan);
        Assert.Equal(114.7, budget.AvailableAfterFreeingGiB, 6);
        Assert.Equal(116, budget.NeededNowGiB);
        Assert.False(budget.FitsNow);
        Assert.Equal("demo: llama needs 116 GiB (112 GiB for the model, 4 GiB for the system) but only 114.7 GiB would be free (64.2 GiB available now, 50.5 GiB freed by the swap). Stop services, or lower gpu-memory-utilization.", budget.Summary);
    }

    [Fact]
    public void Budget_WeightsLargerThanTheReservation_AreAWarningWithBothNumbers()
    {
        var budget = new MemoryBudget
        {
            Spark = "demo",
            TotalGiB = 121.7,
            AvailableGiB = 100,
            ReserveGiB = 4,
            Model = new BudgetItem("llama", 112, "gpu-memory-utilization 0.92 × MemTotal"),
            WeightsGiB = 131.4,
        };

        Assert.True(budget.WeightsExceedReservation);
        Assert.StartsWith("demo: llama weights 131.4 GiB (141 GB) exceed the 112 GiB reservation (gpu-memory-utilization 0.92 × MemTotal)", budget.WeightsWarning, StringComparison.Ordinal);
        Assert.Null((budget with { WeightsGiB = 100 }).WeightsWarning);
        Assert.Null((budget with { WeightsGiB = null }).WeightsWarning);
    }

    [Fact]
    public async Task OverBudget_ThePreviewBlocks_AndTheSwapFailsInPreflight_WithTheSameWords()
    {
        await using var world = await SwapWorld.CreateAsync();
        // 0.95 of 121.7 GiB and the 4 GiB reserve fit the plan, but not the 115.7 GiB that is free with nothing running.
        AddModels(world, SwapWorld.Model("tight", gpu: 0.95));

        var preview = await world.Swaps.PreviewAsync(new SwapRequest("tight", "spark-1", "test"), CancellationToken.None);
        var swap = await world.SwapAsync("tight");

        Assert.False(preview.CanStart);
        Assert.True(Assert.Single(preview.Budgets).FitsPlan);
        var blocker = Assert.Single(preview.Blockers);
        Assert.Contains("but only 115.7 GiB would be free", blocker, StringComparison.Ordinal);
        Assert.Equal(SwapPhase.Failed, swap.Phase);
        Assert.Equal(blocker, swap.Failure!.Message);
    }

    [Fact]
    public async Task HeavyWeights_AreAWarning_ThatDoesNotBlock()
    {
        await using var world = await SwapWorld.CreateAsync();
        AddModels(world, SwapWorld.Model("heavy", gpu: 0.3, size: 50));

        var preview = await world.Swaps.PreviewAsync(new SwapRequest("heavy", "spark-1", "test"), CancellationToken.None);

        Assert.True(preview.CanStart);
        Assert.Contains(preview.Warnings, w => w.StartsWith("spark-1: heavy weights 50 GiB (53.7 GB) exceed the 36.5 GiB reservation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WhileAnotherSwapRuns_ThePreviewNamesIt_AndStartRefusesWithTheSameWords()
    {
        await using var world = await SwapWorld.CreateAsync();
        world.Host.Close(nameof(GatedSparkHost.RunContainerAsync));
        var running = world.Swaps.Start(new SwapRequest("small-a", "spark-1", "alice"));
        await world.Host.Reached(nameof(GatedSparkHost.RunContainerAsync));

        var preview = await world.Swaps.PreviewAsync(new SwapRequest("small-b", "spark-1", "bob"), CancellationToken.None);
        var conflict = Assert.Throws<SwapConflictException>(() => world.Swaps.Start(new SwapRequest("small-b", "spark-1", "bob")));
        world.Host.Open(nameof(GatedSparkHost.RunContainerAsync));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await world.Swaps.WaitAsync(running.Id, timeout.Token);
        var after = await world.Swaps.PreviewAsync(new SwapRequest("small-b", "spark-1", "bob"), CancellationToken.None);

        Assert.False(preview.CanStart);
        Assert.Equal(running.Id, preview.RunningSwapId);
        Assert.Equal($"small-a is swapping on spark-1 (swap {running.Id}, Launching); wait for it to end, or cancel it on the Dashboard.", preview.Blockers[0]);
        Assert.Equal(preview.Blockers[0], conflict.Message);
        Assert.True(after.CanStart);
        Assert.Null(after.RunningSwapId);
    }
}
