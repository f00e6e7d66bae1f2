using System.Net;
using System.Runtime.InteropServices;
using SparkControl.Sim.Server;
using SparkControl.Sim.Vllm;

namespace SparkControl.Sim;

/// <summary>
/// The simulator as a console program: <c>SparkControl.Sim vllm serve &lt;model&gt; [vLLM flags]</c> behaves like
/// <c>vllm serve</c> on the wire, so a command built for a real Spark runs unchanged in a container made from it.
/// Its own knobs are environment variables (<c>SPARKCONTROL_SIM_*</c>), never flags.
/// </summary>
public static class Program
{
    public const string OomLimitVariable = "SPARKCONTROL_SIM_OOM_LIMIT_MB";

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            await Console.Error.WriteLineAsync("usage: SparkControl.Sim vllm serve <model> [vLLM flags]\n" +
                "       SparkControl.Sim nim      (NIM_SERVED_MODEL_NAME, NIM_SERVER_PORT, NGC_API_KEY)\n" +
                "  environment: SPARKCONTROL_SIM_LOAD_SECONDS, SPARKCONTROL_SIM_TOKENS_PER_SECOND,\n" +
                "               SPARKCONTROL_SIM_FAIL=none|oom|bad-flag|crash, SPARKCONTROL_SIM_FAIL_AFTER_SECONDS").ConfigureAwait(false);
            return args.Length == 0 ? 2 : 0;
        }

        if (args[0] is not ("vllm" or "nim"))
        {
            await Console.Error.WriteLineAsync($"SparkControl.Sim: unknown program '{args[0]}'; 'vllm' and 'nim' are simulated").ConfigureAwait(false);
            return 2;
        }

        var nim = args[0] == "nim";
        // A NIM container has no command line: what it serves comes from its environment.
        var (options, error) = nim ? NimEnvironment.Parse(Environment.GetEnvironmentVariable, 0.3) : VllmCli.Parse(args[1..]);
        if (options is null)
        {
            await Console.Error.WriteLineAsync(error!.Message).ConfigureAwait(false);
            return error.ExitCode;
        }

        SimBehaviour behaviour;
        try
        {
            behaviour = SimBehaviour.FromEnvironment(Environment.GetEnvironmentVariable, new SimBehaviour());
        }
        catch (FormatException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 2;
        }

        using var stop = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        var address = options.Host is "0.0.0.0" or "" ? IPAddress.Any : IPAddress.TryParse(options.Host, out var parsed) ? parsed : IPAddress.Loopback;
        await using var server = new SimModelServer(options, behaviour, TimeProvider.System, Console.Out.WriteLine, new IPEndPoint(address, options.Port), ExhaustMemoryAsync, nim: nim);
        return await server.RunAsync(stop.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Allocates and touches native memory until the cgroup OOM killer ends the process, as a real model that
    /// outgrows its container does. Native memory, because the GC's heap limit would otherwise throw first.
    /// Outside a small container it stops at SPARKCONTROL_SIM_OOM_LIMIT_MB (default 1024) and exits 137 itself.
    /// </summary>
    private static Task<int> ExhaustMemoryAsync(CancellationToken cancellationToken)
    {
        var limitMiB = int.TryParse(Environment.GetEnvironmentVariable(OomLimitVariable), out var configured) && configured > 0 ? configured : 1024;
        const int chunk = 16 << 20;
        var held = new List<IntPtr>();
        unsafe
        {
            for (var allocated = 0; allocated < limitMiB && !cancellationToken.IsCancellationRequested; allocated += 16)
            {
                var block = (byte*)NativeMemory.Alloc(chunk);
                for (var offset = 0; offset < chunk; offset += 4096)
                {
                    block[offset] = 1;
                }

                held.Add((IntPtr)block);
            }
        }

        Console.Out.WriteLine("torch.OutOfMemoryError: CUDA out of memory.");
        return Task.FromResult(137);
    }
}
