using BenchmarkDotNet.Running;

namespace SparkControl.Benchmarks;

/// <summary>
/// Performance figures live here, never in timed unit tests. Run one suite with
/// <c>dotnet run -c Release --project SparkControl.Benchmarks -- --filter '*Name*'</c>; console harnesses that need
/// real servers take their own verb (see README, "Benchmarks").
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["echo-side-by-side", ..] && OperatingSystem.IsLinux())
        {
            return EchoSideBySide.Run(args);
        }

        if (args is ["swap-overhead", ..] && OperatingSystem.IsLinux())
        {
            return SwapOverhead.RunAsync(args).GetAwaiter().GetResult();
        }

        if (args is ["gateway-bench", ..] && OperatingSystem.IsLinux())
        {
            return GatewayBench.RunAsync(args).GetAwaiter().GetResult();
        }

        if (args is ["soak", ..] && OperatingSystem.IsLinux())
        {
            return Soak.RunAsync(args).GetAwaiter().GetResult();
        }

        if (args is ["dashboard-scale", ..] && OperatingSystem.IsLinux())
        {
            return DashboardScale.RunAsync(args).GetAwaiter().GetResult();
        }

        if (args is ["bare-yarp", _, _])
        {
            return BareYarp.RunAsync(args).GetAwaiter().GetResult();
        }

        if (args is ["transcript-quality", ..] && OperatingSystem.IsLinux())
        {
            return TranscriptQuality.RunAsync(args).GetAwaiter().GetResult();
        }

        if (args is ["gpu-ledger-size", ..])
        {
            return GpuLedgerSize.Run();
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
