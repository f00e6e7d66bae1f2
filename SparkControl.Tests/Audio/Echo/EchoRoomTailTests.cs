using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Tests.Audio.Echo;

/// <summary>How much of its tail the canceller gives the room: the partitions it fills, the rest left out.</summary>
public sealed class EchoRoomTailTests
{
    private const int Block = 256;

    /// <summary>A filter's coefficient spectra from its taps (partition p: taps pN..pN+N−1, zero-padded to 2N).</summary>
    private static float[][] Spectra(double[] taps, int partitions)
    {
        var fft = new RealFft(2 * Block);
        return [.. Enumerable.Range(0, partitions).Select(p =>
        {
            var buffer = fft.NewBuffer();
            for (var i = 0; i < Block; i++)
            {
                buffer[i] = (float)taps[(p * Block) + i];
            }

            fft.Forward(buffer);
            return buffer;
        })];
    }

    /// <summary>
    /// Gaussian taps decaying by <paramref name="dbPerPartition"/> for <paramref name="roomPartitions"/>, then a flat floor
    /// at <paramref name="floorDb"/> below the first tap, raised by <paramref name="bumpDb"/> over the partitions of
    /// <paramref name="bump"/>.
    /// </summary>
    private static double[] Taps(int partitions, int roomPartitions, double dbPerPartition, double floorDb, int seed, Range bump = default, double bumpDb = 0)
    {
        var random = new Random(seed);
        var taps = new double[partitions * Block];
        var (bumpStart, bumpLength) = bump.GetOffsetAndLength(partitions);
        for (var i = 0; i < taps.Length; i++)
        {
            var gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            var room = i < roomPartitions * Block ? Math.Pow(10, -dbPerPartition * i / Block / 20) : 0;
            var raised = i / Block >= bumpStart && i / Block < bumpStart + bumpLength ? bumpDb : 0;
            taps[i] = gaussian * (room + Math.Pow(10, (raised - floorDb) / 20));
        }

        return taps;
    }

    [Fact]
    public void RoomPartitions_NoisePiledUpInSomeLatePartitions_DoesNotCutTheRoomShort()
    {
        // Babble of other voices leaves a trained filter's floor uneven (up to 6 dB on the babble calls; 15 dB here, so the
        // median's cut is well clear of the room's): half the last half stands over the rest. Judged from those
        // partitions (their median), the floor would reach up into the room's late taps and cut it at 6; from the lower
        // quartile the room and two partitions more are kept (10).
        var weights = Spectra(Taps(16, 8, 4, 30, 5, 10..14, 15), 16);

        Assert.InRange(EchoCanceller.RoomPartitions(weights, Block, converged: true), 8, 10);
    }

    [Fact]
    public void RoomPartitions_ARoomThatRingsOutBeforeTheTail_KeepsItAndOneMore()
    {
        var weights = Spectra(Taps(16, 8, 4, 40, 1), 16);

        Assert.InRange(EchoCanceller.RoomPartitions(weights, Block, converged: false), 8, 10);
        Assert.InRange(EchoCanceller.RoomPartitions(weights, Block, converged: true), 8, 10);
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(4)]
    public void RoomPartitions_ARoomStillDecayingAtTheTailsEnd_KeepsEveryPartition(double dbPerPartition)
    {
        // A room longer than the tail (no floor reached): its last quarter is still dbPerPartition·4 below the third.
        var weights = Spectra(Taps(16, 16, dbPerPartition, 90, 2), 16);

        Assert.Equal(16, EchoCanceller.RoomPartitions(weights, Block, converged: false));
        Assert.Equal(16, EchoCanceller.RoomPartitions(weights, Block, converged: true));
    }

    [Fact]
    public void RoomPartitions_AFloorCloseToTheRoom_IsTrustedOnlyFromAConvergedFilter()
    {
        // A flat floor, but only about 18 dB under the filter's energy: a filter still converging could hide the room's
        // late taps under it; a converged one cannot.
        var weights = Spectra(Taps(16, 4, 4, 15, 4), 16);

        Assert.Equal(16, EchoCanceller.RoomPartitions(weights, Block, converged: false));
        Assert.InRange(EchoCanceller.RoomPartitions(weights, Block, converged: true), 2, 6);
    }

    [Fact]
    public void RoomPartitions_AShortTailOrSilence_KeepsEveryPartition()
    {
        Assert.Equal(4, EchoCanceller.RoomPartitions(Spectra(Taps(4, 2, 4, 40, 3), 4), Block, converged: true));
        Assert.Equal(16, EchoCanceller.RoomPartitions(Spectra(new double[16 * Block], 16), Block, converged: true));
    }

    [Fact]
    public async Task Cancel_ARoomLongerThanTheTail_UsesTheWholeTail_AndARoomShorterLeavesTheRestOut()
    {
        var longRoom = await EchoTestCalls.GetAsync(EchoTestCalls.LongRoom);
        var shortRoom = await EchoTestCalls.GetAsync(EchoTestCalls.Default);

        var longResult = EchoCanceller.Cancel(longRoom.Call);
        var shortResult = EchoCanceller.Cancel(shortRoom.Call);
        var longScore = EchoMetrics.Score(longRoom.Mic, longResult.Output, longRoom.Truth);

        Assert.Equal(longResult.Partitions, longResult.RoomPartitions);
        Assert.True(longScore.ErleFarEndDb > 10, $"far-end ERLE {longScore.ErleFarEndDb:0.0} dB");
        Assert.InRange(shortResult.RoomPartitions!.Value, 8, shortResult.Partitions - 1);
        // One pass runs the whole tail: it reports all of it.
        var onePass = EchoCanceller.Cancel(shortRoom.Call, new EchoCancellerSettings { Passes = 1 });
        Assert.Equal(onePass.Partitions, onePass.RoomPartitions);
    }
}
