#!/usr/bin/env python3
"""The paper's Keras model (the notebook convolutional_attention.ipynb of Hooman1996/Sentinel2_CBAM,
restated: the same layers, order and so the same default names) with random weights, saved as Keras 3
`.keras` and legacy `.h5`, and its softmax outputs on 64 Victoria test samples: the fixtures with
which tests/test_interop.cpp checks import_keras, committed so CI needs no TensorFlow.

    python3 scripts/keras_reference.py BUILD_DIR            # needs tensorflow-cpu (pip), h5py

The weights are drawn from four values per layer (+-s, +-s/2, s from the layer's fan-in), and the batch
norms' statistics at random, so that the files compress (gzip inside HDF5, deflate in the zip) to a
few hundred kilobytes while every weight still matters. The input is what test_interop writes with
S2_WRITE_INTEROP_FIXTURE set: the first 64 Victoria test samples resampled to 36 x 10 and normalised
as s2cbam does."""
import os, shutil, subprocess, sys, tempfile, zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py
import keras
import numpy as np

L = keras.layers


class ResidualUnit(L.Layer):
    """conv3x3-BN-ReLU-conv3x3-BN, a 1x1 conv skip, add, ReLU: the notebook's ResidualUnit."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        conv = lambda k: L.Conv2D(filters, k, padding="same", use_bias=False, kernel_initializer="he_normal")
        self.main_layers = [conv(3), L.BatchNormalization(), keras.activations.get("relu"), conv(3),
                            L.BatchNormalization()]
        self.skip_layers = [conv(1)]

    def call(self, x):
        z = x
        for layer in self.main_layers:
            z = layer(z)
        s = x
        for layer in self.skip_layers:
            s = layer(s)
        return keras.activations.relu(z + s)


def cbam_block(x, ratio=8):
    channels = x.shape[-1]
    one, two = L.Dense(channels // ratio, activation="relu"), L.Dense(channels)
    avg = two(one(L.Reshape((1, 1, channels))(L.GlobalAveragePooling2D()(x))))
    mx = two(one(L.Reshape((1, 1, channels))(L.GlobalMaxPooling2D()(x))))
    x = L.multiply([x, L.Activation("sigmoid")(L.Add()([avg, mx]))])
    mean = L.Lambda(lambda t: keras.ops.mean(t, axis=3, keepdims=True))(x)
    peak = L.Lambda(lambda t: keras.ops.max(t, axis=3, keepdims=True))(x)
    spatial = L.Conv2D(1, 7, padding="same", activation="sigmoid", use_bias=False)(L.Concatenate(axis=3)([mean, peak]))
    return L.multiply([x, spatial])


def notebook_model(classes=5):
    inputs = keras.Input((36, 10, 1))
    h = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(64, (3, 3), padding="same")(inputs)))
    for filters in (64, 128, 256):
        h = cbam_block(ResidualUnit(filters=filters)(h))
    return keras.Model(inputs, L.Dense(classes, activation="softmax")(L.GlobalAveragePooling2D()(h)))


def randomise(model, rng):
    for w in model.weights:
        name, shape = w.path, tuple(w.shape)
        if "moving_mean" in name:
            value = 0.2 * rng.standard_normal(shape)
        elif "moving_variance" in name:
            value = 0.5 + rng.random(shape)
        elif "gamma" in name:
            value = 1 + 0.25 * rng.choice([-1, -0.5, 0.5, 1], shape)
        else:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else shape[0]
            scale = np.sqrt(2.0 / fan_in) if len(shape) > 1 else 0.1
            value = scale * rng.choice([-1, -0.5, 0.5, 1], shape)
        w.assign(value.astype(np.float32))


def compress_h5(path):
    """Rewrites every dataset of an HDF5 file with the shuffle and gzip filters (readers see no change)."""
    packed = path + ".packed"
    with h5py.File(path) as src, h5py.File(packed, "w") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v

        def copy(name, obj):
            if isinstance(obj, h5py.Group):
                g = dst.require_group(name)
                for k, v in obj.attrs.items():
                    g.attrs[k] = v
            else:
                opts = dict(compression="gzip", compression_opts=9, shuffle=True) if obj.shape else {}
                d = dst.create_dataset(name, data=obj[()], **opts)
                for k, v in obj.attrs.items():
                    d.attrs[k] = v
        src.visititems(copy)
    os.replace(packed, path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.path.join(here, "..", "tests", "data")
    build = sys.argv[1]
    keras.utils.set_random_seed(7)
    model = notebook_model()
    randomise(model, np.random.default_rng(7))
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, S2_WRITE_INTEROP_FIXTURE=d)
        subprocess.run([os.path.join(build, "tests", "test_interop"), "-tc=Keras*"], env=env,
                       stdout=subprocess.DEVNULL, check=False)
        x = np.load(os.path.join(d, "keras_input.npy")).reshape(64, 36, 10, 1)
        legacy = os.path.join(fixtures, "keras_cbam.h5")
        model.save(legacy)
        compress_h5(legacy)
        keras3 = os.path.join(d, "saved.keras")
        model.save(keras3)
        with zipfile.ZipFile(keras3) as z:
            z.extractall(os.path.join(d, "unzipped"))
        compress_h5(os.path.join(d, "unzipped", "model.weights.h5"))
        target = os.path.join(fixtures, "keras_cbam.keras")
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for name in ("metadata.json", "config.json", "model.weights.h5"):
                z.write(os.path.join(d, "unzipped", name), name)
    softmax = model.predict(x, verbose=0)
    # Both repacked files load back into the notebook's model with the same outputs.
    for path in (legacy, target):
        check = notebook_model()
        check.load_weights(path)
        assert np.array_equal(check.predict(x, verbose=0), softmax), path
    np.save(os.path.join(fixtures, "keras_softmax.npy"), softmax.astype(np.float32))
    sizes = {p: os.path.getsize(p) for p in (legacy, target)}
    print(f"keras {keras.__version__}: softmax {softmax.shape}; {sizes}")


if __name__ == "__main__":
    main()
