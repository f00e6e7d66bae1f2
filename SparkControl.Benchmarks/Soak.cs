using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Benchmarks;

/// <summary>
/// <c>soak [minutes] [speed]</c>: the panel, published and run as deployed, watches two Sparks for a long time while
/// their life runs <c>speed</c> times faster than real (24: a day in an hour) — and nothing in it may grow.
/// <para>
/// Each Spark is a private sshd, a private dockerd and its own stand-ins (nvidia-smi replaying a captured H100 timeline,
/// as the integration tests use them), so every command, log follow and GPU stream goes over real SSH to real
/// containers. On the compressed clock each Spark swaps between two models every 30 simulated minutes (the simulator
/// loads a model in 2 s), the panel checks health every 5 simulated seconds (its default), an operator opens a
/// service's log for a while every few simulated minutes, and dashboards (circuit clients) open and close. The GPU
/// samples keep the panel's own period (100 ms); the captured 18 s play again and again, stamped with the time they are
/// printed, so the GPU ledger and its rollups grow as they would on a real Spark.
/// </para>
/// <para>
/// Sampled every 1/30 of the run, after a full collection: resident memory, the live managed heap, threads and open
/// descriptors of the panel; the sshd processes of each Spark (one pair per connection, one per running command); the
/// database's size and rows per table. The first third is warm-up; the last third must hold no more than the middle
/// third (memory, threads, descriptors and connections by their medians; sshd processes by the fewest seen, since the
/// commands running at a sample come and go), and no table may grow faster in the last third than in the middle one
/// (what the history and the GPU ledger's rollups add per hour is their own growth, at a steady rate).
/// </para>
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class Soak
{
    private static readonly string[] Sparks = ["spark-1", "spark-2"];

    private sealed record Spark(string Name, DockerdFixture Docker, SshdFixture Sshd, SparkBin Bin, string[] Models, int Port)
    {
        /// <summary>Swaps started on this Spark; a log view that overlaps one may find no container to follow.</summary>
        public int SwapsStarted;

        public int SwapsEnded;
    }

    private sealed record Row(TimeSpan At, PanelSample Panel, int Descriptors, int[] Connections, int[] SshdProcesses, double DatabaseMiB, IReadOnlyDictionary<string, long> Tables);

    private sealed class Counters
    {
        public int Swaps;
        public int SwapsFailed;
        public int LogViews;
        public int LogViewsFailed;
        public int LogViewsDuringSwaps;
        public int Dashboards;
        public int DashboardsFailed;
        public int SamplesFailed;
        public readonly List<string> Errors = [];

        public void Error(string what)
        {
            lock (Errors)
            {
                if (Errors.Count < 20)
                {
                    Errors.Add(what);
                }
            }
        }
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var minutes = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 60;
        var speed = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 24;
        var duration = TimeSpan.FromMinutes(minutes);
        using var work = new TempDirectory("sc-soak");
        var sparks = new List<Spark>();
        try
        {
            foreach (var name in Sparks)
            {
                var docker = new DockerdFixture();
                await docker.InitializeAsync();
                var sshd = new SshdFixture();
                await sshd.InitializeAsync();
                var bin = new SparkBin(docker);
                bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "2"));
                // Stamped live: the captured 18 s play again and again as time going on, so the GPU ledger writes a
                // minute row every minute (and its rollups) as it would on a real Spark.
                bin.ReplayNvidiaSmi("h100/timeline-duty.csv", "timestamp,utilization.gpu,memory.used,power.draw", "h100/compute-apps-noheader.csv", liveTimestamps: true);
                sparks.Add(new Spark(name, docker, sshd, bin, [$"{name}-a", $"{name}-b"], Tools.FreePort()));
            }

            var data = Directory.CreateDirectory(Path.Combine(work.Path, "data")).FullName;
            await WriteConfigurationAsync(data, work.File("models"), sparks);
            var health = TimeSpan.FromSeconds(5) / speed;
            await using var panel = await BenchPanel.StartAsync(Tools.RepositoryRoot, work.Path, new Dictionary<string, string>
            {
                ["Security__AllowAnonymous"] = "true",
                ["SparkControl__Swap__SystemReserveGiB"] = "0",
                ["SparkControl__Health__Interval"] = health.ToString("c", CultureInfo.InvariantCulture),
            });
            using var api = new HttpClient { BaseAddress = panel.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"soak: {minutes:F0} min at {speed:F0}x ({minutes * speed / 60:F1} simulated hours), 2 Sparks over sshd and dockerd, health every {health.TotalMilliseconds:F0} ms, a swap per Spark every {30 * 60 / speed:F0} s, {Environment.ProcessorCount} cores"));

            // Every Spark serves its first model before the clock starts: the warm-up third then starts from a running lab.
            var counters = new Counters();
            await Task.WhenAll(sparks.Select(s => SwapAsync(api, s, s.Models[0], counters)));
            using var stop = new CancellationTokenSource();
            var activity = new List<Task>
            {
                LogViewersAsync(api, sparks, TimeSpan.FromMinutes(4) / speed, counters, stop.Token),
                DashboardsAsync(panel.BaseAddress, TimeSpan.FromMinutes(10) / speed, counters, stop.Token),
            };
            activity.AddRange(sparks.Select(s => SwapsAsync(api, s, TimeSpan.FromMinutes(30) / speed, counters, stop.Token)));

            var rows = new List<Row>();
            var every = duration / 30;
            var wall = Stopwatch.StartNew();
            Console.WriteLine(" wall   simulated  resident MiB  heap MiB  threads  fds  ssh conns  sshd procs  db MiB  swaps  log views  dashboards");
            try
            {
                while (true)
                {
                    try
                    {
                        var row = await SampleAsync(panel, api, sparks, wall.Elapsed);
                        rows.Add(row);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{row.At:hh\\:mm\\:ss}  {TimeSpan.FromTicks((long)(row.At.Ticks * speed)).TotalHours,6:F1} h  {row.Panel.RssMiB,12:F0}  {row.Panel.HeapMiB,8:F1}  {row.Panel.Threads,7}  {row.Descriptors,3}  {string.Join('+', row.Connections),9}  {string.Join('+', row.SshdProcesses),10}  {row.DatabaseMiB,6:F2}  {counters.Swaps,5}  {counters.LogViews,9}  {counters.Dashboards,10}"));
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TimeoutException or TaskCanceledException or SqliteException or IOException)
                    {
                        // A sample the panel did not answer is a finding, not the end of the run.
                        Interlocked.Increment(ref counters.SamplesFailed);
                        counters.Error($"sample at {wall.Elapsed:hh\\:mm\\:ss}: {ex.Message}");
                    }

                    if (wall.Elapsed >= duration)
                    {
                        break;
                    }

                    await Task.Delay(every - TimeSpan.FromTicks(wall.Elapsed.Ticks % every.Ticks));
                }
            }
            finally
            {
                await stop.CancelAsync();
                await Task.WhenAll(activity);
            }

            return Report(rows, counters, speed);
        }
        finally
        {
            foreach (var spark in sparks)
            {
                spark.Bin.Dispose();
                await spark.Sshd.DisposeAsync();
                await spark.Docker.DisposeAsync();
            }
        }
    }

    /// <summary>sparks.yaml, the pinned host keys, each Spark's key, two local models per Spark, and a service per Spark over its model's container (the log viewers' subject).</summary>
    private static async Task WriteConfigurationAsync(string data, string modelRoot, List<Spark> sparks)
    {
        var definitions = new List<SparkDefinition>();
        var models = new List<ModelDefinition>();
        var services = new List<ServiceDefinition>();
        var knownHosts = new List<string>();
        foreach (var spark in sparks)
        {
            var roots = Path.Combine(modelRoot, spark.Name);
            Directory.CreateDirectory(roots);
            definitions.Add(new SparkDefinition
            {
                Name = spark.Name,
                Host = spark.Sshd.Host,
                Port = spark.Sshd.Port,
                User = spark.Sshd.User,
                KeyPath = spark.Sshd.InstallClientKey(data, $"{spark.Name}_ed25519"),
                PathPrefix = [spark.Bin.Path],
                Gpus = "none",
                ModelRoots = [roots],
                HfCachePath = Path.Combine(roots, "hf"),
                VllmImage = DockerdFixture.BaseImage,
                ExtraMounts = [.. DockerdFixture.HostRuntimeMounts],
            });
            var key = spark.Sshd.HostPublicKey.Split(' ');
            knownHosts.Add($"[127.0.0.1]:{spark.Sshd.Port} {key[0]} {key[1]}");
            foreach (var id in spark.Models)
            {
                var path = await SparkOnDocker.CreateLocalModelAsync(roots, id);
                models.Add(SparkOnDocker.Model(id, new LocalSource(spark.Name, path), spark.Port) with { Flags = new VllmFlags { GpuMemoryUtilization = 0.05 } });
            }

            services.Add(new ServiceDefinition { Spark = spark.Name, Name = "llm-log", Kind = ServiceKind.Other, Container = Core.Launch.LaunchSpecs.ModelContainerName, Port = spark.Port, HealthPath = "/health" });
        }

        await File.WriteAllTextAsync(Path.Combine(data, Core.Remote.HostKeyStore.FileName), string.Join('\n', knownHosts) + "\n");
        await File.WriteAllTextAsync(Path.Combine(data, SparksYaml.FileName), SparksYaml.Write([.. definitions]));
        await File.WriteAllTextAsync(Path.Combine(data, CatalogStore.CustomFileName), new Core.Yaml.YamlWriter().Add("models", models.Select(CatalogYaml.WriteModel)).ToYaml());
        await File.WriteAllTextAsync(Path.Combine(data, ServicesYaml.FileName), ServicesYaml.Write([.. services]));
    }

    private static async Task SwapsAsync(HttpClient api, Spark spark, TimeSpan every, Counters counters, CancellationToken cancellationToken)
    {
        var next = 1;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await SwapAsync(api, spark, spark.Models[next++ % 2], counters);
        }
    }

    private static async Task SwapAsync(HttpClient api, Spark spark, string model, Counters counters)
    {
        Interlocked.Increment(ref spark.SwapsStarted);
        try
        {
            using var start = await api.PostAsJsonAsync("/api/swaps", new { model, spark = spark.Name });
            start.EnsureSuccessStatusCode();
            var id = (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            var swap = await SwapApi.WaitForAsync(api, id, SwapApi.Ended, $"the swap to {model} ends");
            Interlocked.Increment(ref counters.Swaps);
            if (swap.GetProperty("phase").GetString() != "ready")
            {
                Interlocked.Increment(ref counters.SwapsFailed);
                counters.Error($"swap to {model}: {SwapApi.Describe(swap)}");
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            Interlocked.Increment(ref counters.Swaps);
            Interlocked.Increment(ref counters.SwapsFailed);
            counters.Error($"swap to {model}: {ex.Message}");
        }
        finally
        {
            Interlocked.Increment(ref spark.SwapsEnded);
        }
    }

    /// <summary>An operator opens a Spark's service log (followed) for a while, closes it, and opens the other's.</summary>
    private static async Task LogViewersAsync(HttpClient api, List<Spark> sparks, TimeSpan every, Counters counters, CancellationToken cancellationToken)
    {
        var turn = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var spark = sparks[turn++ % sparks.Count];
            using var view = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            view.CancelAfter(every / 2);
            var lines = 0;
            string? failure = null;
            var swapsBefore = (Volatile.Read(ref spark.SwapsStarted), Volatile.Read(ref spark.SwapsEnded));
            try
            {
                using var response = await api.GetAsync($"/api/services/{spark.Name}/llm-log/logs/stream?tail=20", HttpCompletionOption.ResponseHeadersRead, view.Token);
                response.EnsureSuccessStatusCode();
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(view.Token));
                while (await reader.ReadLineAsync(view.Token) is not null)
                {
                    lines++;
                }
            }
            catch (OperationCanceledException) when (view.IsCancellationRequested)
            {
                // The operator closed the view.
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                failure = ex.Message;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            Interlocked.Increment(ref counters.LogViews);
            failure ??= lines == 0 ? $"no line in {(every / 2).TotalSeconds:F0} s" : null;
            // A swap replaces the container the view follows: while one runs there may be nothing to show, as an
            // operator would see too. Such views are counted apart, not as failures.
            var duringSwap = swapsBefore.Item1 != swapsBefore.Item2 || swapsBefore.Item1 != Volatile.Read(ref spark.SwapsStarted);
            if (failure is not null && duringSwap)
            {
                Interlocked.Increment(ref counters.LogViewsDuringSwaps);
            }
            else if (failure is not null)
            {
                Interlocked.Increment(ref counters.LogViewsFailed);
                counters.Error($"log view of {spark.Name}: {failure}");
            }

            try
            {
                await Task.Delay(every / 2, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Three dashboards open (circuits without a browser), stay for half the period, and close.</summary>
    private static async Task DashboardsAsync(Uri baseAddress, TimeSpan every, Counters counters, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var open = new List<CircuitClient>();
            try
            {
                for (var i = 0; i < 3; i++)
                {
                    open.Add(await CircuitClient.OpenAsync(baseAddress));
                }

                await Task.Delay(every / 2, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or IOException or System.Net.WebSockets.WebSocketException or Microsoft.AspNetCore.SignalR.HubException or TaskCanceledException or TimeoutException)
            {
                Interlocked.Increment(ref counters.DashboardsFailed);
                counters.Error($"dashboard: {ex.Message}");
            }
            finally
            {
                foreach (var client in open)
                {
                    await client.DisposeAsync();
                }

                Interlocked.Add(ref counters.Dashboards, open.Count);
            }

            try
            {
                await Task.Delay(every / 2, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task<Row> SampleAsync(BenchPanel panel, HttpClient api, List<Spark> sparks, TimeSpan at)
    {
        var sample = await panel.SampleAsync(api) with { At = at };
        var descendants = sparks.Select(s => ProcFs.Descendants(s.Sshd.ProcessId)).ToList();
        // A connection's session process is "sshd: user@notty" ("sshd-session: user@notty" from OpenSSH 9.8 on).
        var connections = descendants.Select(pids => pids.Count(pid => ProcFs.Comm(pid).StartsWith("sshd", StringComparison.Ordinal) && ProcFs.CommandLine(pid).Contains('@', StringComparison.Ordinal))).ToArray();
        var sshd = descendants.Select(pids => pids.Count).ToArray();
        var database = Directory.GetFiles(panel.DataDirectory, "*.db*").Sum(f => new FileInfo(f).Length) / (1024.0 * 1024);
        return new Row(at, sample, panel.OpenDescriptors(), connections, sshd, database, Tables(panel.DataDirectory));
    }

    /// <summary>Rows of every table of the panel's database, read beside the running panel (WAL allows it).</summary>
    private static Dictionary<string, long> Tables(string data)
    {
        var tables = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(data, "*.db"))
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            var names = new List<string>();
            using (var list = connection.CreateCommand())
            {
                list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
                using var reader = list.ExecuteReader();
                while (reader.Read())
                {
                    names.Add(reader.GetString(0));
                }
            }

            foreach (var name in names)
            {
                using var count = connection.CreateCommand();
                count.CommandText = $"SELECT COUNT(*) FROM \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
                tables[$"{Path.GetFileNameWithoutExtension(file)}.{name}"] = (long)count.ExecuteScalar()!;
            }
        }

        return tables;
    }

    private static int Report(List<Row> rows, Counters counters, double speed)
    {
        var invariant = CultureInfo.InvariantCulture;
        var third = rows.Count / 3;
        var middle = rows.Skip(third).Take(third).ToList();
        var last = rows.Skip(2 * third).ToList();
        Console.WriteLine();
        Console.WriteLine(string.Create(invariant, $"{counters.Swaps} swaps ({counters.SwapsFailed} not Ready), {counters.LogViews} log views ({counters.LogViewsFailed} failed or empty, {counters.LogViewsDuringSwaps} more empty while their Spark swapped), {counters.Dashboards} dashboards opened and closed ({counters.DashboardsFailed} failed), {counters.SamplesFailed} samples missed"));
        foreach (var error in counters.Errors)
        {
            Console.WriteLine($"  {error}");
        }

        var checks = new List<(string What, double Middle, double Last, double Allowed)>
        {
            ("resident MiB", Stats.Median(middle.Select(r => r.Panel.RssMiB)), Stats.Median(last.Select(r => r.Panel.RssMiB)), 16),
            ("managed heap MiB", Stats.Median(middle.Select(r => r.Panel.HeapMiB)), Stats.Median(last.Select(r => r.Panel.HeapMiB)), 8),
            ("threads", Stats.Median(middle.Select(r => (double)r.Panel.Threads)), Stats.Median(last.Select(r => (double)r.Panel.Threads)), 4),
            ("open descriptors", Stats.Median(middle.Select(r => (double)r.Descriptors)), Stats.Median(last.Select(r => (double)r.Descriptors)), 8),
            ("SSH connections", Stats.Median(middle.Select(r => (double)r.Connections.Sum())), Stats.Median(last.Select(r => (double)r.Connections.Sum())), 0),
            // The fewest, not the median: a sample that meets a swap's or a log view's command counts it (2 to 10 in an
            // hour's run), while a command or connection left behind raises the floor the quiet moments show, by one or more.
            ("sshd processes left between commands (the fewest seen)", Fewest(middle), Fewest(last), 0),
        };
        static double Fewest(List<Row> part) => part.Count == 0 ? double.NaN : part.Min(r => r.SshdProcesses.Sum());
        var met = counters.SwapsFailed == 0 && counters.LogViewsFailed == 0 && counters.DashboardsFailed == 0 && counters.SamplesFailed == 0 && rows.Count >= 6;
        Console.WriteLine("medians (sshd processes: the fewest), middle third -> last third:");
        foreach (var (what, before, after, allowed) in checks)
        {
            var ok = after - before <= allowed;
            met &= ok;
            Console.WriteLine(string.Create(invariant, $"  {Verdict.Of(ok)} {what}: {before:F1} -> {after:F1} (allowed +{allowed:F0})"));
        }

        // A table grows by what the lab does (swaps, minutes of GPU ledger, rollups); at a steady rate, not faster.
        Console.WriteLine("rows added per simulated hour, middle third -> last third:");
        var simulatedHours = (TimeSpan span) => span.TotalHours * speed;
        foreach (var table in rows[^1].Tables.Keys)
        {
            double Rate(List<Row> part) => part.Count < 2 ? 0 : (part[^1].Tables.GetValueOrDefault(table) - part[0].Tables.GetValueOrDefault(table)) / simulatedHours(part[^1].At - part[0].At);
            var (before, after) = (Rate(middle), Rate(last));
            var ok = after <= (before * 1.25) + 2;
            met &= ok;
            Console.WriteLine(string.Create(invariant, $"  {Verdict.Of(ok)} {table}: {before:F1} -> {after:F1} ({rows[0].Tables.GetValueOrDefault(table)} -> {rows[^1].Tables[table]} rows)"));
        }

        Console.WriteLine(string.Create(invariant, $"database {rows[0].DatabaseMiB:F2} -> {rows[^1].DatabaseMiB:F2} MiB"));
        Console.WriteLine($"{Verdict.Of(met)} soak: nothing grows beyond its own rate, every swap Ready, every log view and dashboard served");
        return met ? 0 : 1;
    }
}
