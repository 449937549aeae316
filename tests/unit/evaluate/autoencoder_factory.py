"""The small dense autoencoder the anomaly-detection tests train, written as a user's factory file:
tests/func/test_anomaly.py copies this file into its project as `nets/autoencoder.py`, and the
unit tests of the passes import `build` from here."""


def build(input_shape, num_classes, width=1.0, dropout=0.0):
    import tf_keras as keras

    layers = keras.layers
    return keras.Sequential([
        layers.Input(shape=input_shape, name="frame"),
        layers.Dense(max(2, int(32 * width)), activation="relu", name="encode"),
        layers.Dense(8, activation="relu", name="bottleneck"),
        layers.Dense(max(2, int(32 * width)), activation="relu", name="decode"),
        layers.Dense(num_classes, name="reconstruction"),
    ], name="autoencoder")
